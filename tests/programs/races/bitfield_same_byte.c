/* bitfield_same_byte.c: a worker sets one bit-field while main reads a
 * different bit-field of the same storage unit. Adjacent bit-fields are one
 * memory location (C11 3.14): the worker's read-modify-write races with
 * main's read (only the write conflicts; the two reads do not).
 * expect-race: write 1 bitfield_same_byte.c:18 / read 1 bitfield_same_byte.c:26 */
#include <pthread.h>
#include <stdio.h>

struct flags {
    unsigned dirty : 1;
    unsigned locked : 1;
} flags;
volatile unsigned sink;

static void *worker(void *arg)
{
    (void)arg;
    flags.dirty = 1;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    sink = flags.locked;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
