/* rwlock_timed.c: pthread_rwlock_timedrdlock and pthread_rwlock_timedwrlock
 * with a deadline far in the future protect a value. Race-free. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
int value;
volatile int sink;

static struct timespec far_deadline(void)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 3600;
    return deadline;
}

static void *reader(void *arg)
{
    (void)arg;
    struct timespec deadline = far_deadline();
    for (int i = 0; i < 50; i++) {
        if (pthread_rwlock_timedrdlock(&lock, &deadline) != 0)
            return (void *)1L;
        sink = value;
        pthread_rwlock_unlock(&lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    void *ret;
    struct timespec deadline = far_deadline();
    pthread_create(&t, NULL, reader, NULL);
    for (int i = 0; i < 50; i++) {
        if (pthread_rwlock_timedwrlock(&lock, &deadline) != 0)
            return 1;
        value = i;
        pthread_rwlock_unlock(&lock);
    }
    pthread_join(t, &ret);
    printf("value %d %s\n", value, ret == NULL ? "ok" : "timed out");
    return 0;
}
