/* c11_declared_atomic_flag.c: message passing through a C11 `_Atomic`
 * flag that no spin loop, LOCK instruction or fence shows to be atomic:
 * the producer writes the data and stores the flag with release; main
 * sleeps, loads the flag once with acquire and reads the data only if it
 * is set. On x86-64 both flag accesses are plain `mov`s; hbgrind knows the
 * flag is atomic from its DWARF type (`_Atomic int`) and orders the data:
 * race-free. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

int data;
_Atomic int ready;

static void *producer(void *arg)
{
    data = 42;
    atomic_store_explicit(&ready, 1, memory_order_release);
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    int seen = 0;
    if (atomic_load_explicit(&ready, memory_order_acquire))
        seen = data == 42;
    pthread_join(t, NULL);
    printf("%s\n", seen ? "seen" : "late");
    return 0;
}
