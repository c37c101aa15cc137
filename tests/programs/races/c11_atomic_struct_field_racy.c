/* c11_atomic_struct_field_racy.c: the struct-field flag of
 * c11_atomic_struct_field.c, but main reads the data before it looks at
 * the flag: the data races, the atomic flag does not.
 * expect-race: write 4 c11_atomic_struct_field_racy.c:24 / read 4 c11_atomic_struct_field_racy.c:35 */
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
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
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
    int early = shared.data;
    int ready = atomic_load_explicit(&shared.ready.value, memory_order_acquire);
    pthread_join(t, NULL);
    printf("%d\n", (early == 0 || early == 42) && (ready == 0 || ready == 1));
    return 0;
}
