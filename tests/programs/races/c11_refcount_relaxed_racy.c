/* c11_refcount_relaxed_racy.c: as c11_refcount.c, with two workers whose
 * decrement is relaxed and no acquire fence before the last one reads the
 * slots (and no free): nothing orders the other worker's slot write before
 * the read, a race (the bug C++'s shared_ptr avoids with acq_rel).
 * expect-race: write 4 c11_refcount_relaxed_racy.c:27 / read 4 c11_refcount_relaxed_racy.c:29
 * On x86-64 the relaxed fetch_sub is the same `lock xadd` as an acq_rel
 * one, which the atomics model orders as seq_cst; hbgrind cannot see the
 * memory order a binary does not encode (as for atomic_relaxed_publication.c).
 * hbgrind-expect: none */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

struct object {
    atomic_int refs;
    int slot[2];
};

struct object obj = {2, {0, 0}};
atomic_int next;
int total;

static void *worker(void *arg)
{
    (void)arg;
    int me = atomic_fetch_add(&next, 1);
    obj.slot[me] = me + 1;
    if (atomic_fetch_sub_explicit(&obj.refs, 1, memory_order_relaxed) == 1)
        total = obj.slot[1 - me];
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("%d\n", total > 0);
    return 0;
}
