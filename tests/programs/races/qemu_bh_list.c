/* qemu_bh_list.c: QEMU's bottom halves (qemu_bh.h) at work. A vCPU
 * thread fills a request, then schedules its bottom half: a LOCK fetch-or
 * sets the BH's pending flag and, if it was clear, a cmpxchg loop pushes
 * the BH onto the context's lock-free list (QSLIST_INSERT_HEAD_ATOMIC).
 * The main loop takes the whole list with an exchange (QSLIST_MOVE_ATOMIC),
 * clears each BH's flags with a LOCK fetch-and and runs its callback,
 * which reads the request and counts it handled (a release increment the
 * vCPU waits for before it fills the next one). The fetch-or and the list
 * exchange order the request before the callback: race-free. */
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
        bh->request[3] = -i;
        aio_bh_enqueue(bh);
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
    printf("%d\n", bhs[0].done == 0 && bhs[1].done == 0);
    return 0;
}
