/* mutex_timedlock.c: both threads take the mutex with
 * pthread_mutex_timedlock and a deadline far in the future. Race-free. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
int counter;

static void *worker(void *arg)
{
    (void)arg;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 3600;
    for (int i = 0; i < 100; i++) {
        if (pthread_mutex_timedlock(&lock, &deadline) != 0)
            return (void *)1L;
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    void *ret;
    pthread_create(&t, NULL, worker, NULL);
    void *mine = worker(NULL);
    pthread_join(t, &ret);
    printf("counter %d %s\n", counter, ret == NULL && mine == NULL ? "ok" : "timed out");
    return 0;
}
