/* qemu_rcu_racy.c: an RCU updater (qemu_rcu.h, QEMU's scheme) that writes
 * the old object in place right after publishing the new one, before
 * synchronize_rcu. The reader took the old pointer inside its critical
 * section (and said so) and still reads through it: the updater's write
 * races with that read; the grace period it waits for afterwards does not
 * order what came before it.
 * expect-race: read 4 qemu_rcu_racy.c:28 / write 4 qemu_rcu_racy.c:41 */
#include "qemu_rcu.h"
#include <time.h>

struct config {
    int version;
};

struct config first = {1}, second = {2};
_Atomic(struct config *) current = &first;
atomic_int has_pointer;
int seen;

static void *reader(void *arg)
{
    (void)arg;
    rcu_register_thread();
    rcu_read_lock();
    struct config *c = atomic_load_explicit(&current, memory_order_acquire);
    atomic_store(&has_pointer, 1);
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    seen = c->version;
    rcu_read_unlock();
    rcu_unregister_thread();
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    while (!atomic_load(&has_pointer))
        ;
    struct config *old = atomic_exchange(&current, &second);
    old->version = 0;
    synchronize_rcu();
    pthread_join(t, NULL);
    printf("%d\n", seen <= 1);
    return 0;
}
