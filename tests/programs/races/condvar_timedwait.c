/* condvar_timedwait.c: like condvar_handoff.c, but the consumer waits with
 * pthread_cond_timedwait and a deadline far in the future. Race-free. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
int ready;
long payload;

static void *consumer(void *arg)
{
    (void)arg;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 3600;
    pthread_mutex_lock(&lock);
    while (!ready)
        if (pthread_cond_timedwait(&cond, &lock, &deadline) != 0)
            break;
    pthread_mutex_unlock(&lock);
    return (void *)payload;
}

int main(void)
{
    pthread_t t;
    void *seen;
    pthread_create(&t, NULL, consumer, NULL);
    payload = 1234;
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    pthread_join(t, &seen);
    printf("payload %ld\n", (long)seen);
    return 0;
}
