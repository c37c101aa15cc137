/* global_write_after_create.c: main writes a global after creating the
 * thread that reads it and before joining it: the create orders only what
 * came before it, so the read and the write race.
 * expect-race: read 4 global_write_after_create.c:14 / write 4 global_write_after_create.c:22 */
#include <pthread.h>
#include <stdio.h>

int value;
volatile int sink;

static void *worker(void *arg)
{
    (void)arg;
    sink = value;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    value = 5;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
