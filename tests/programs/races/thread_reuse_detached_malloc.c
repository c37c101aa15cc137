/* thread_reuse_detached_malloc.c: detached threads, one after another, each
 * allocating, filling and freeing blocks (glibc gives each thread a tcache,
 * and a dead thread's cache and stack go to the next thread) and keeping a
 * count in a thread-local variable; each tells main it is done through a
 * semaphore before it exits. Blocks freed by a dead thread and handed to a
 * new one are new memory: race-free. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

sem_t done;
__thread int allocated;
int results[6];

static void *worker(void *arg)
{
    int me = (int)(long)arg;
    for (int i = 0; i < 50; i++) {
        char *p = malloc(64 + i);
        memset(p, me, 64 + i);
        allocated += p[i] == me;
        free(p);
    }
    results[me] = allocated;
    sem_post(&done);
    return NULL;
}

int main(void)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sem_init(&done, 0, 0);
    for (long i = 0; i < 6; i++) {
        pthread_t t;
        pthread_create(&t, &attr, worker, (void *)i);
        sem_wait(&done);
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    printf("%d %d\n", results[0], results[5]);
    return 0;
}
