/* join_grandchild.c: a worker creates and joins its own child, which writes
 * a global; main joins the worker and then reads the global. Joins are
 * transitive. Race-free. */
#include <pthread.h>
#include <stdio.h>

int depth;

static void *child(void *arg)
{
    (void)arg;
    depth = 2;
    return NULL;
}

static void *worker(void *arg)
{
    pthread_t t;
    (void)arg;
    pthread_create(&t, NULL, child, NULL);
    pthread_join(t, NULL);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    printf("depth %d\n", depth);
    return 0;
}
