/* tests/programs/explore/torn_pair.c (issue 12): a bug of depth 2 (one
 * forced switch). The writer keeps `lo == hi` but updates them in two
 * critical sections; the checker reads both in one. Only a switch inside
 * the writer's window, with the checker running then, shows the torn pair:
 * the checker aborts. In PCT terms: the checker must run between the
 * writer's two steps, one change point in the writer's window. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int lo, hi;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static __thread volatile unsigned long sink;

/* Each loop iteration is one block: `n` blocks of the thread's own work. */
static void compute(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        sink += i;
}

static void *writer(void *arg)
{
    compute(200);
    pthread_mutex_lock(&m);
    lo = 1;
    pthread_mutex_unlock(&m);
    compute(15000); /* the window: lo and hi differ */
    pthread_mutex_lock(&m);
    hi = 1;
    pthread_mutex_unlock(&m);
    return arg;
}

static void check(void)
{
    pthread_mutex_lock(&m);
    int torn = lo != hi;
    pthread_mutex_unlock(&m);
    if (torn)
        abort();
}

static void *checker(void *arg)
{
    compute(200);
    check();
    return arg;
}

int main(void)
{
    pthread_t w, c;
    pthread_create(&w, NULL, writer, NULL);
    pthread_create(&c, NULL, checker, NULL);
    pthread_join(w, NULL);
    pthread_join(c, NULL);
    printf("done\n");
    return 0;
}
