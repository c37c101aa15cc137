/* qemu_bh_list_racy.c: as qemu_bh_list.c (QEMU's bottom halves,
 * qemu_bh.h), but the vCPU writes the last word of its request after
 * scheduling the bottom half: the callback's read of it races with that
 * write, whatever the flags and the list order.
 * expect-race: read 4 qemu_bh_list_racy.c:14 / write 4 qemu_bh_list_racy.c:29 */
#include "qemu_bh.h"
#include <sched.h>

static QEMUBH bhs[2];
static atomic_int stop;

static void complete_request(QEMUBH *bh)
{
    bh->done += bh->request[0] + bh->request[3];
    atomic_fetch_add_explicit(&bh->handled, 1, memory_order_release);
}

static void *vcpu(void *arg)
{
    QEMUBH *bh = arg;
    for (int i = 0; i < 50 && !atomic_load(&stop); i++) {
        while (atomic_load_explicit(&bh->handled, memory_order_acquire) != i)
            if (atomic_load(&stop))
                return NULL;
            else
                sched_yield();
        bh->request[0] = i;
        aio_bh_enqueue(bh);
        bh->request[3] = -i; /* too late: the callback may be reading it */
    }
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        bhs[i].cb = complete_request;
        pthread_create(&t[i], NULL, vcpu, &bhs[i]);
    }
    long runs = 0;
    for (int spins = 0; spins < 200000000 && runs < 100; spins++) {
        int ran = aio_bh_poll();
        if (!ran)
            sched_yield(); /* QEMU's main loop would sleep in ppoll */
        runs += ran;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    aio_bh_poll();
    printf("done\n"); /* the sums depend on the race */
    return 0;
}
