/* global_read_read.c: two threads only read an initialised global; reads
 * never race with reads. Race-free. */
#include <pthread.h>
#include <stdio.h>

int config = 42;
volatile int sink1, sink2;

static void *worker(void *arg)
{
    (void)arg;
    sink1 = config;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    sink2 = config;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
