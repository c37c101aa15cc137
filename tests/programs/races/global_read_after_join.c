/* global_read_after_join.c: a worker writes a global; main reads it only
 * after pthread_join, which orders the write before the read. Race-free. */
#include <pthread.h>
#include <stdio.h>

int result;

static void *worker(void *arg)
{
    (void)arg;
    result = 99;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    printf("result %d\n", result);
    return 0;
}
