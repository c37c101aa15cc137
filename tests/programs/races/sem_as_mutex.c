/* sem_as_mutex.c: a semaphore initialised to 1 is used as a lock around a
 * counter updated by two threads. Race-free. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

sem_t lock;
int counter;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 500; i++) {
        sem_wait(&lock);
        counter++;
        sem_post(&lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    sem_init(&lock, 0, 1);
    pthread_create(&t, NULL, worker, NULL);
    worker(NULL);
    pthread_join(t, NULL);
    sem_destroy(&lock);
    printf("counter %d\n", counter);
    return 0;
}
