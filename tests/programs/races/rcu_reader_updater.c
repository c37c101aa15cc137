/* rcu_reader_updater.c: read-copy-update with C11 atomics. Readers enter
 * by incrementing a reader count (seq_cst), load the published pointer
 * (acquire), read the object and leave with a release decrement. The
 * updater builds a new object, publishes it with an exchange, waits until
 * no reader is inside (acquire loads of the count) and only then frees the
 * old one. Every read of an old object happens before its free: race-free. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

struct config {
    int version;
    int values[8];
};

_Atomic(struct config *) current;
atomic_int readers;
atomic_int stop;
long seen[2];

static void *reader(void *arg)
{
    int me = (int)(long)arg;
    while (!atomic_load(&stop)) {
        atomic_fetch_add(&readers, 1);
        struct config *c = atomic_load_explicit(&current, memory_order_acquire);
        seen[me] += c->version + c->values[c->version % 8];
        atomic_fetch_sub_explicit(&readers, 1, memory_order_release);
    }
    return NULL;
}

int main(void)
{
    struct config *c = calloc(1, sizeof *c);
    atomic_store(&current, c);
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, reader, (void *)i);
    for (int v = 1; v <= 20; v++) {
        struct config *n = malloc(sizeof *n);
        n->version = v;
        for (int i = 0; i < 8; i++)
            n->values[i] = v * i;
        struct config *old = atomic_exchange(&current, n);
        while (atomic_load_explicit(&readers, memory_order_acquire) != 0)
            ;
        free(old);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    free(atomic_load(&current));
    printf("%d\n", seen[0] >= 0 && seen[1] >= 0);
    return 0;
}
