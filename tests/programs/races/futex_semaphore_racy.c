/* futex_semaphore_racy.c: as futex_semaphore.c, but the producer writes a
 * second field of the slot after posting it: the consumer's read of that
 * field is not ordered after the write.
 * expect-race: write 4 futex_semaphore_racy.c:22 / read 4 futex_semaphore_racy.c:40 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static atomic_int count;
static struct { int value, extra; } slot;

static void *producer(void *arg)
{
    (void)arg;
    slot.value = 5;
    atomic_fetch_add_explicit(&count, 1, memory_order_release);
    syscall(SYS_futex, &count, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    slot.extra = 6;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    for (;;) {
        int c = atomic_load_explicit(&count, memory_order_relaxed);
        if (c > 0 && atomic_compare_exchange_weak_explicit(&count, &c, c - 1,
                                                           memory_order_acquire,
                                                           memory_order_relaxed))
            break;
        if (c == 0)
            syscall(SYS_futex, &count, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    }
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    int extra = slot.extra;
    printf("%d %d\n", slot.value, extra == 6 || extra == 0);
    pthread_join(t, NULL);
    return 0;
}
