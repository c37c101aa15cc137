/* mix.c: the races an auditor meets, for hbgrind triage (triage.rs).
 * - hits: a global bumped by both workers without a lock (a bug);
 * - node->value: a heap field the workers write under `lock`, which main
 *   reads without it (a bug: "the read holds no lock, the write holds lock");
 * - ready: a flag both workers set and main peeks at (benign, say).
 * Built with -DBASELINE it is "last week's version": hits is bumped under
 * the lock, the workers set ready under the lock, and `old` races instead.
 * Both builds have the same line numbers (the difference is in macros). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct node {
    int key;
    int value;
};

int hits;
int ready;
int old;
pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
struct node *node;

#ifdef BASELINE
#define BUMP() (pthread_mutex_lock(&lock), hits++, pthread_mutex_unlock(&lock))
#define SET_READY() (pthread_mutex_lock(&lock), ready = 1, pthread_mutex_unlock(&lock))
#define OLD() (old = 1)
#else
#define BUMP() (hits++)
#define SET_READY() (ready = 1)
#define OLD() ((void)0)
#endif

static void *worker(void *arg)
{
    BUMP();
    pthread_mutex_lock(&lock);
    node->value += 1;
    pthread_mutex_unlock(&lock);
    SET_READY();
    OLD();
    return arg;
}

int main(void)
{
    pthread_t t[2];
    node = calloc(1, sizeof *node);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    int seen = ready;
    int value = node->value;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("%d %d %d\n", hits > 0, seen >= 0, value >= 0);
    free(node);
    return 0;
}
