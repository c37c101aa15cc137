/* futex_event_racy.c: the QemuEvent-style events of futex_event.c, but the
 * producer writes a second value for each slot after setting its event,
 * so nothing orders that write with the consumer's read after the wait.
 * expect-race: write 8 futex_event_racy.c:59 / read 8 futex_event_racy.c:75 */
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
/* Padded apart (futex_event.c has its slots adjacent): the race below is
 * on `late` alone, whatever dbi's flush merges (papers/lockmodels.md,
 * "Atomics: the whole-run rule"). */
static struct {
    long value;
    long pad;
} slots[SLOTS];
static struct {
    long value;
    long pad;
} late[SLOTS];

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
        late[i].value = i;
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
        sum += late[i].value;
    }
    pthread_join(t, NULL);
    printf("done %d\n", sum > 0); /* the sum itself depends on the race */
    return 0;
}
