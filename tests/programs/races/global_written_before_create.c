/* global_written_before_create.c: main writes a global and then creates the
 * thread that reads it; pthread_create orders the write before the read.
 * Race-free. */
#include <pthread.h>
#include <stdio.h>

int value;

static void *worker(void *arg)
{
    (void)arg;
    return (void *)(long)value;
}

int main(void)
{
    pthread_t t;
    void *ret;
    value = 7;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, &ret);
    printf("worker saw %ld\n", (long)ret);
    return 0;
}
