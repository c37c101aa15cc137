/* pthread_exit_value.c: a worker fills a heap struct and hands it to main
 * with pthread_exit (from a nested call); main reads and frees it after the
 * join. Race-free. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct answer {
    int question;
    long value;
};

static void finish(struct answer *a)
{
    a->value = 42;
    pthread_exit(a);
}

static void *worker(void *arg)
{
    struct answer *a = malloc(sizeof *a);
    a->question = (int)(long)arg;
    finish(a);
    return NULL;
}

int main(void)
{
    pthread_t t;
    void *ret;
    pthread_create(&t, NULL, worker, (void *)7L);
    pthread_join(t, &ret);
    struct answer *a = ret;
    printf("%d %ld\n", a->question, a->value);
    free(a);
    return 0;
}
