/* tests/programs/explore/depth3.c (issue 12): a bug of depth 3 (two
 * forced switches). Two threads each make two steps, logged under the
 * lock with work between them. Only the interleaving A1 B1 A2 B2 breaks
 * the invariant main checks: it needs a switch inside A's window and
 * another inside B's, so PCT finds it with depth 3 and never with depth 1
 * or 2 (papers/schedules.md). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char order[8];
static int steps;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static __thread volatile unsigned long sink;

/* Each loop iteration is one block: `n` blocks of the thread's own work. */
static void compute(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        sink += i;
}

static void step(char name)
{
    pthread_mutex_lock(&m);
    order[steps++] = name;
    pthread_mutex_unlock(&m);
}

static void *a(void *arg)
{
    compute(100);
    step('a');
    compute(15000);
    step('A');
    return arg;
}

static void *b(void *arg)
{
    compute(100);
    step('b');
    compute(15000);
    step('B');
    return arg;
}

int main(void)
{
    pthread_t ta, tb;
    pthread_create(&ta, NULL, a, NULL);
    pthread_create(&tb, NULL, b, NULL);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    if (strcmp(order, "abAB") == 0 || strcmp(order, "baBA") == 0)
        abort();
    printf("done\n");
    return 0;
}
