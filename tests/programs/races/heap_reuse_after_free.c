/* heap_reuse_after_free.c: one thread writes a 4 KiB heap block and frees
 * it; then (ordered only by a relaxed flag, which orders nothing and is
 * annotated as a benign race) another thread allocates a block of the same
 * size, normally the same memory (one arena, no tcache at this size), and
 * writes it. free() synchronises with the malloc() that reuses the memory
 * (C11 7.22.3), so the two lives of the block never race. Race-free. */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/helgrind.h>

#define SIZE 4096
atomic_int freed;

static void *old_life(void *arg)
{
    (void)arg;
    int *block = malloc(SIZE);
    for (int i = 0; i < SIZE / 4; i++)
        block[i] = i;
    free(block);
    atomic_store_explicit(&freed, 1, memory_order_relaxed);
    return NULL;
}

static void *new_life(void *arg)
{
    (void)arg;
    free(malloc(16));
    while (!atomic_load_explicit(&freed, memory_order_relaxed))
        ;
    int *block = malloc(SIZE);
    for (int i = 0; i < SIZE / 4; i++)
        block[i] = -i;
    free(block);
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    mallopt(M_ARENA_MAX, 1);
    ANNOTATE_BENIGN_RACE_SIZED(&freed, sizeof freed, "flag ordering free before malloc");
    pthread_create(&t1, NULL, old_life, NULL);
    pthread_create(&t2, NULL, new_life, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("done\n");
    return 0;
}
