/* rcu_update_in_place_racy.c: an RCU updater that, after publishing the new
 * object, writes the old one in place instead of waiting for a grace
 * period. The reader took the old pointer (and said so) and still reads
 * through it: the updater's write races with that read.
 * expect-race: read 4 rcu_update_in_place_racy.c:26 / write 4 rcu_update_in_place_racy.c:37 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
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
    struct config *c = atomic_load_explicit(&current, memory_order_acquire);
    atomic_store(&has_pointer, 1);
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    seen = c->version;
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
    pthread_join(t, NULL);
    printf("%d\n", seen <= 1);
    return 0;
}
