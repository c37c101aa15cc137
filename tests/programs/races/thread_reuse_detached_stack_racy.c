/* thread_reuse_detached_stack_racy.c: a detached thread publishes the
 * address of a variable on its own stack, posts a semaphore, and goes on
 * writing the variable; main waits for the post and reads it through the
 * pointer. The thread is still alive: its stack is shared memory, and the
 * write after the post races with main's read (the reset of a thread's
 * memory at its exit must not hide this).
 * expect-race: write 4 thread_reuse_detached_stack_racy.c:22 / read 4 thread_reuse_detached_stack_racy.c:38 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>

sem_t published, finished;
volatile int *shared;

static void *worker(void *arg)
{
    (void)arg;
    volatile int mine = 1;
    shared = &mine;
    sem_post(&published);
    mine = 2;
    sem_wait(&finished);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_attr_t attr;
    sem_init(&published, 0, 0);
    sem_init(&finished, 0, 0);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_create(&t, &attr, worker, NULL);
    sem_wait(&published);
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    int v = *shared;
    sem_post(&finished);
    printf("%d\n", v == 1 || v == 2);
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    return 0;
}
