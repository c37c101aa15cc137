/* detach_sem_handoff.c: a detached worker writes a result and posts a
 * semaphore; main reads the result after sem_wait. Race-free. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

sem_t finished;
long result;

static void *worker(void *arg)
{
    (void)arg;
    result = 6 * 7;
    sem_post(&finished);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_attr_t attr;
    sem_init(&finished, 0, 0);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_create(&t, &attr, worker, NULL);
    pthread_attr_destroy(&attr);
    sem_wait(&finished);
    printf("result %ld\n", result);
    return 0;
}
