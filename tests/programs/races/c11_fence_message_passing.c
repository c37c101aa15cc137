/* c11_fence_message_passing.c: message passing with relaxed atomics and
 * fences: the producer writes the data, issues atomic_thread_fence(release)
 * and stores the flag relaxed; the consumer loads the flag relaxed until it
 * is set, issues atomic_thread_fence(acquire) and reads the data. The
 * fences synchronise (C11 7.17.4): race-free. On x86-64 both fences compile
 * to nothing, and hbgrind's atomics model takes the spin loop's flag as an
 * acquire/release location. ThreadSanitizer does not model standalone
 * fences (its documentation says so) and reports the data:
 * tsan-expect: race write 4 c11_fence_message_passing.c:20 / read 4 c11_fence_message_passing.c:33 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

int data;
atomic_int flag;

static void *producer(void *arg)
{
    (void)arg;
    data = 42;
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&flag, 1, memory_order_relaxed);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    while (!atomic_load_explicit(&flag, memory_order_relaxed))
        ;
    atomic_thread_fence(memory_order_acquire);
    printf("%d\n", data);
    pthread_join(t, NULL);
    return 0;
}
