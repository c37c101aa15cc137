/* sem_trywait.c: the consumer polls with sem_trywait until the producer's
 * sem_post arrives, then reads what the producer wrote. Race-free. */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>

sem_t ready;
int value;

static void *producer(void *arg)
{
    (void)arg;
    value = 17;
    sem_post(&ready);
    return NULL;
}

int main(void)
{
    pthread_t t;
    sem_init(&ready, 0, 0);
    pthread_create(&t, NULL, producer, NULL);
    while (sem_trywait(&ready) != 0)
        sched_yield();
    printf("value %d\n", value);
    pthread_join(t, NULL);
    sem_destroy(&ready);
    return 0;
}
