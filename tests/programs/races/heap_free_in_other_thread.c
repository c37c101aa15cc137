/* heap_free_in_other_thread.c: main allocates and fills blocks, hands each
 * to a worker through a semaphore-guarded slot; the worker reads and frees
 * it (so a block allocated by one thread is freed by another), and main
 * allocates the next. Race-free. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

sem_t full, empty;
int *slot;

static void *worker(void *arg)
{
    long sum = 0;
    (void)arg;
    for (int i = 0; i < 20; i++) {
        sem_wait(&full);
        int *block = slot;
        sum += block[0] + block[15];
        free(block);
        sem_post(&empty);
    }
    return (void *)sum;
}

int main(void)
{
    pthread_t t;
    void *sum;
    sem_init(&full, 0, 0);
    sem_init(&empty, 0, 1);
    pthread_create(&t, NULL, worker, NULL);
    for (int i = 0; i < 20; i++) {
        int *block = malloc(16 * sizeof *block);
        for (int j = 0; j < 16; j++)
            block[j] = i + j;
        sem_wait(&empty);
        slot = block;
        sem_post(&full);
    }
    pthread_join(t, &sum);
    printf("sum %ld\n", (long)sum);
    return 0;
}
