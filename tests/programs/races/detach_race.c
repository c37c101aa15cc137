/* detach_race.c: a detached worker writes a global and posts a semaphore;
 * main writes the same global before waiting for the semaphore.
 * expect-race: write 4 detach_race.c:14 / write 4 detach_race.c:25 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

sem_t finished;
int shared;

static void *worker(void *arg)
{
    (void)arg;
    shared = 1;
    sem_post(&finished);
    return NULL;
}

int main(void)
{
    pthread_t t;
    sem_init(&finished, 0, 0);
    pthread_create(&t, NULL, worker, NULL);
    pthread_detach(t);
    shared = 2;
    sem_wait(&finished);
    printf("done\n");
    return 0;
}
