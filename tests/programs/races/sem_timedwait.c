/* sem_timedwait.c: the consumer waits with sem_timedwait and a deadline far
 * in the future; the producer writes and posts. Race-free. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>

sem_t ready;
int value;

static void *producer(void *arg)
{
    (void)arg;
    value = 23;
    sem_post(&ready);
    return NULL;
}

int main(void)
{
    pthread_t t;
    struct timespec deadline;
    sem_init(&ready, 0, 0);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 3600;
    pthread_create(&t, NULL, producer, NULL);
    if (sem_timedwait(&ready, &deadline) != 0)
        return 1;
    printf("value %d\n", value);
    pthread_join(t, NULL);
    sem_destroy(&ready);
    return 0;
}
