/* atomic_seq_cst_store_fence.c: message passing through a flag stored the
 * way GCC before 12 compiled a seq_cst store, `mov` then `mfence` (written
 * out here as a release store and the fence, since GCC 12 emits `xchg`).
 * The consumer loads the flag with plain `mov`s, yielding between them, so
 * no tight spin loop gives the flag away: the fenced store is what shows
 * the flag is atomic, and the consumer's loads made before it are plain
 * reads the atomics model withdraws from races. Race-free. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

struct message {
    long id;
    double amount;
    char note[16];
} message;
atomic_int posted;

static void *producer(void *arg)
{
    (void)arg;
    message.id = 7;
    message.amount = 12.5;
    for (int i = 0; i < 15; i++)
        message.note[i] = (char)('a' + i);
    atomic_store_explicit(&posted, 1, memory_order_release);
    __asm__ volatile("mfence" ::: "memory");
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    while (!atomic_load(&posted))
        sched_yield();
    printf("%ld %.1f %s\n", message.id, message.amount, message.note);
    pthread_join(t, NULL);
    return 0;
}
