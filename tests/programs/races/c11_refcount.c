/* c11_refcount.c: a shared object with a reference count. Each worker
 * writes its own slot and drops its reference with an acq_rel fetch_sub;
 * the one that drops the last reference reads every slot and frees the
 * object. The decrements form a release sequence the last one acquires:
 * race-free. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

struct object {
    atomic_int refs;
    int slot[4];
};

int total;

static void *worker(void *arg)
{
    struct object *o = arg;
    static atomic_int next;
    int me = atomic_fetch_add(&next, 1);
    o->slot[me] = me + 1;
    if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1) {
        total = o->slot[0] + o->slot[1] + o->slot[2] + o->slot[3];
        free(o);
    }
    return NULL;
}

int main(void)
{
    struct object *o = calloc(1, sizeof *o);
    atomic_init(&o->refs, 4);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, o);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("%d\n", total);
    return 0;
}
