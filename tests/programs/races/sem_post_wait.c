/* sem_post_wait.c: a producer writes a value and calls sem_post; the
 * consumer's sem_wait orders the write before its read. Race-free. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

sem_t ready;
long value;

static void *producer(void *arg)
{
    (void)arg;
    value = 31337;
    sem_post(&ready);
    return NULL;
}

int main(void)
{
    pthread_t t;
    sem_init(&ready, 0, 0);
    pthread_create(&t, NULL, producer, NULL);
    sem_wait(&ready);
    printf("value %ld\n", value);
    pthread_join(t, NULL);
    sem_destroy(&ready);
    return 0;
}
