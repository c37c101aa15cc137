/* c11_atomic_struct_field.c: message passing through an `_Atomic` field
 * of a global struct, wrapped the way CPython wraps its atomics (a struct
 * holding one `atomic_int`, inside another struct): the producer writes
 * the data and stores the flag with release; main sleeps, loads the flag
 * once with acquire and reads the data only if it is set. Both flag
 * accesses are plain `mov`s; the field's DWARF type makes them atomic:
 * race-free. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

typedef struct {
    atomic_int value;
} wrapped_int;

struct state {
    long counter;
    wrapped_int ready;
    int data;
} shared;

static void *producer(void *arg)
{
    shared.data = 42;
    atomic_store_explicit(&shared.ready.value, 1, memory_order_release);
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    int seen = 0;
    if (atomic_load_explicit(&shared.ready.value, memory_order_acquire))
        seen = shared.data == 42;
    pthread_join(t, NULL);
    printf("%s\n", seen ? "seen" : "late");
    return 0;
}
