/* atomic_load_before_first_rmw.c: a thread loads a state word (an acquire
 * load: a plain `mov`) long before any thread updates it; later main swaps
 * a new state in with an atomic exchange. When the load ran, nothing had
 * shown the word to be atomic, so the engine saw a plain read; the
 * exchange shows it is, and the race between the two is withdrawn. The
 * worker's second load, after the exchange, is an acquire of main's
 * release and orders the data. Race-free. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static atomic_int state;
static int data;
volatile int seen;

static void *worker(void *arg)
{
    (void)arg;
    struct timespec pause = {0, 1000 * 1000};
    seen = atomic_load_explicit(&state, memory_order_acquire);
    while (atomic_load_explicit(&state, memory_order_acquire) == 0)
        nanosleep(&pause, NULL);
    seen = data;
    return NULL;
}

int main(void)
{
    pthread_t t;
    struct timespec pause = {0, 5 * 1000 * 1000};
    pthread_create(&t, NULL, worker, NULL);
    nanosleep(&pause, NULL);
    data = 42;
    atomic_exchange(&state, 1);
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
