/* c11_message_passing_racy.c: as c11_message_passing.c, but the producer
 * writes one field after its release store: the consumer's read of that
 * field is not ordered after the write. (main stores the flag seq_cst
 * first: hbgrind learns a flag atomic at its first atomic access, and a
 * plain store it adopts afterwards carries its writer's epoch, which would
 * cover the later write too: papers/lockmodels.md, "Before it was known".)
 * expect-race: write 8 c11_message_passing_racy.c:26 / read 8 c11_message_passing_racy.c:38 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

struct message {
    int id;
    long value;
};

struct message msg;
atomic_int ready;

static void *producer(void *arg)
{
    (void)arg;
    msg.id = 7;
    atomic_store_explicit(&ready, 1, memory_order_release);
    msg.value = 4200;
    return NULL;
}

int main(void)
{
    pthread_t t;
    atomic_store(&ready, 0);
    pthread_create(&t, NULL, producer, NULL);
    while (!atomic_load_explicit(&ready, memory_order_acquire))
        ;
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    long v = msg.value;
    printf("%d %d\n", msg.id, v == 4200 || v == 0);
    pthread_join(t, NULL);
    return 0;
}
