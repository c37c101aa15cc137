/* qemu_rcu.c: an RCU-protected object read by two reader threads and
 * replaced 50 times by an updater that frees the old one only after
 * synchronize_rcu (qemu_rcu.h, QEMU's scheme): every read of an object
 * happens before its free. Race-free. */
#include "qemu_rcu.h"

struct config {
    int version;
    int values[8];
};

_Atomic(struct config *) current;
atomic_int stop;
atomic_int registered;
long seen[2];

static void *reader(void *arg)
{
    int me = (int)(long)arg;
    rcu_register_thread();
    atomic_fetch_add(&registered, 1);
    while (!atomic_load(&stop)) {
        rcu_read_lock();
        struct config *c = atomic_load_explicit(&current, memory_order_acquire);
        seen[me] += c->version + c->values[c->version % 8];
        rcu_read_unlock();
    }
    rcu_unregister_thread();
    return NULL;
}

int main(void)
{
    struct config *c = calloc(1, sizeof *c);
    atomic_store(&current, c);
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, reader, (void *)i);
    while (atomic_load(&registered) < 2)
        ;
    for (int v = 1; v <= 50; v++) {
        struct config *n = malloc(sizeof *n);
        n->version = v;
        for (int i = 0; i < 8; i++)
            n->values[i] = v * i;
        struct config *old = atomic_exchange(&current, n);
        synchronize_rcu();
        free(old);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    free(atomic_load(&current));
    printf("%d\n", seen[0] >= 0 && seen[1] >= 0);
    return 0;
}
