/* qemu_bh.h: QEMU's bottom halves (util/async.c) in small, for
 * qemu_bh_list.c and qemu_bh_list_racy.c. Scheduling a BH sets its pending
 * flag with a LOCK fetch-or and, if it was clear, pushes it onto the
 * context's lock-free list with a cmpxchg loop (QSLIST_INSERT_HEAD_ATOMIC);
 * the main loop takes the whole list with an exchange (QSLIST_MOVE_ATOMIC),
 * clears each BH's flags with a LOCK fetch-and and runs its callback. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

#define BH_PENDING 1u
#define BH_SCHEDULED 2u

typedef struct QEMUBH {
    void (*cb)(struct QEMUBH *);
    unsigned flags;
    struct QEMUBH *next;
    int request[4];
    long done;
    atomic_int handled;
} QEMUBH;

static QEMUBH *bh_list; /* the AioContext's list, only touched atomically */

static void aio_bh_enqueue(QEMUBH *bh)
{
    unsigned old = __atomic_fetch_or(&bh->flags, BH_PENDING | BH_SCHEDULED, __ATOMIC_SEQ_CST);
    if (!(old & BH_PENDING)) {
        QEMUBH *head = __atomic_load_n(&bh_list, __ATOMIC_RELAXED);
        do
            bh->next = head;
        while (!__atomic_compare_exchange_n(&bh_list, &head, bh, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    }
}

static int aio_bh_poll(void)
{
    QEMUBH *slice = __atomic_exchange_n(&bh_list, NULL, __ATOMIC_SEQ_CST);
    int ran = 0;
    while (slice) {
        QEMUBH *bh = slice;
        slice = bh->next;
        unsigned flags = __atomic_fetch_and(&bh->flags, ~(BH_PENDING | BH_SCHEDULED), __ATOMIC_SEQ_CST);
        if (flags & BH_SCHEDULED) {
            bh->cb(bh);
            ran++;
        }
    }
    return ran;
}

