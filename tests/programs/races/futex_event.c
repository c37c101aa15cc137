/* futex_event.c: one-shot events after QEMU's QemuEvent: a futex word that
 * is FREE, BUSY (a waiter sleeps or is about to) or SET. Setting exchanges
 * in SET and wakes the sleepers if it was BUSY; waiting marks FREE as BUSY
 * with a compare-and-swap and sleeps in FUTEX_WAIT while the word stays
 * BUSY. The producer fills a slot and sets its event; the consumer waits
 * for each event and reads the slot. Race-free. */
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { EV_SET = 0, EV_FREE = 1, EV_BUSY = -1, SLOTS = 8 };

static atomic_int events[SLOTS];
/* Adjacent: dbi's flush must not merge the consumer's loads of slot i and
 * slot i + 1 into one access ahead of the acquire of event i + 1 (it once
 * did, with a false race in a quarter of the runs). */
static struct {
    long value;
} slots[SLOTS];

static void futex(atomic_int *word, int op, int val)
{
    syscall(SYS_futex, (int *)word, op, val, NULL, NULL, 0);
}

static void event_set(atomic_int *ev)
{
    if (atomic_load(ev) != EV_SET && atomic_exchange(ev, EV_SET) == EV_BUSY)
        futex(ev, FUTEX_WAKE_PRIVATE, INT_MAX);
}

static void event_wait(atomic_int *ev)
{
    int value = atomic_load(ev);
    if (value == EV_SET)
        return;
    if (value == EV_FREE && !atomic_compare_exchange_strong(ev, &value, EV_BUSY) &&
        value == EV_SET)
        return;
    while (atomic_load(ev) == EV_BUSY)
        futex(ev, FUTEX_WAIT_PRIVATE, EV_BUSY);
}

static void *producer(void *arg)
{
    (void)arg;
    struct timespec pause = {0, 1000 * 1000};
    for (int i = 0; i < SLOTS; i++) {
        slots[i].value = 100 + i;
        event_set(&events[i]);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    long sum = 0;
    for (int i = 0; i < SLOTS; i++)
        atomic_init(&events[i], EV_FREE);
    pthread_create(&t, NULL, producer, NULL);
    for (int i = 0; i < SLOTS; i++) {
        event_wait(&events[i]);
        sum += slots[i].value;
    }
    pthread_join(t, NULL);
    printf("sum %ld\n", sum);
    return 0;
}
