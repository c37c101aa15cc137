/* thread_stack_reuse.c: fifty detached threads run one after another, each
 * filling a buffer on its own stack and posting a semaphore as its last
 * act; glibc caches the stacks of exited threads and hands them to later
 * threads, so later threads reuse earlier threads' stack memory with nothing
 * but thread exit and creation in between. A stack object's life ends with
 * its thread: race-free. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>

sem_t done;
long results[50];

static void *worker(void *arg)
{
    long id = (long)arg;
    volatile char scratch[2048];
    for (int i = 0; i < 2048; i++)
        scratch[i] = (char)(id + i);
    long sum = 0;
    for (int i = 0; i < 2048; i += 64)
        sum += scratch[i];
    results[id] = sum;
    sem_post(&done);
    return NULL;
}

int main(void)
{
    pthread_attr_t attr;
    sem_init(&done, 0, 0);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (long i = 0; i < 50; i++) {
        pthread_t t;
        pthread_create(&t, &attr, worker, (void *)i);
        sem_wait(&done);
    }
    pthread_attr_destroy(&attr);
    long total = 0;
    for (int i = 0; i < 50; i++)
        total += results[i];
    printf("total %ld\n", total);
    return 0;
}
