/* c11_cas_stack_counter.c: threads claim slots of a shared array with a
 * compare-and-swap loop on an index (acq_rel), write the claimed slot, then
 * announce it done with a release fetch_add; main waits for the count with
 * acquire loads and reads every slot. Race-free. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#define SLOTS 64
int slots[SLOTS];
atomic_int next, done;

static void *worker(void *arg)
{
    int me = (int)(long)arg;
    for (;;) {
        int i = atomic_load_explicit(&next, memory_order_relaxed);
        if (i >= SLOTS)
            return NULL;
        if (atomic_compare_exchange_weak_explicit(&next, &i, i + 1, memory_order_acq_rel,
                                                  memory_order_relaxed)) {
            slots[i] = me * 1000 + i;
            atomic_fetch_add_explicit(&done, 1, memory_order_release);
        }
    }
}

int main(void)
{
    pthread_t t[3];
    for (long i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    while (atomic_load_explicit(&done, memory_order_acquire) < SLOTS)
        ;
    long sum = 0;
    for (int i = 0; i < SLOTS; i++)
        sum += slots[i] % 1000;
    printf("%ld\n", sum);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    return 0;
}
