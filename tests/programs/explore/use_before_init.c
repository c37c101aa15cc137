/* tests/programs/explore/use_before_init.c (issue 12): a use before
 * initialisation by another thread that crashes only in some schedules.
 * The initialiser allocates the configuration and publishes the pointer;
 * the user thread dereferences the pointer without waiting: when it runs
 * first, it reads NULL and dies of SIGSEGV; otherwise it races with the
 * publication (a data race report) and prints the value. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct config {
    int verbosity;
};

static struct config *config;
static __thread volatile unsigned long sink;

/* Each loop iteration is one block: `n` blocks of the thread's own work. */
static void compute(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        sink += i;
}

static void *initialiser(void *arg)
{
    compute(10000);
    struct config *c = malloc(sizeof *c);
    c->verbosity = 3;
    config = c;
    return arg;
}

static void *user(void *arg)
{
    compute(1000);
    sink += (unsigned long)config->verbosity;
    return arg;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, initialiser, NULL);
    pthread_create(&b, NULL, user, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("done\n");
    return 0;
}
