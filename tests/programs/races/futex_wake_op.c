/* futex_wake_op.c: the producer fills a buffer and publishes it with one
 * FUTEX_WAKE_OP: the kernel sets the flag word to 1 atomically and wakes
 * its waiters. The program itself never stores to the flag; the consumer
 * loads it (an atomic load) and sleeps in FUTEX_WAIT until it is 1, then
 * reads the buffer. The kernel's update and wake order the two: race-free.
 * ThreadSanitizer does not model futex calls and sees no store to the
 * flag, so it takes the buffer accesses as unordered.
 * tsan-expect: race write 4 futex_wake_op.c:32 / read 4 futex_wake_op.c:47 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static atomic_int flag;
static int unused_word;
static int buffer[64];

static long futex(void *word, int op, int val, unsigned long val2, void *word2, int val3)
{
    return syscall(SYS_futex, word, op, val, val2, word2, val3);
}

static void *producer(void *arg)
{
    (void)arg;
    struct timespec pause = {0, 2 * 1000 * 1000};
    nanosleep(&pause, NULL);
    for (int i = 0; i < 64; i++)
        buffer[i] = i * 3;
    /* Wake nobody on unused_word; set flag to 1 and wake all on it if it was 0. */
    futex(&unused_word, FUTEX_WAKE_OP_PRIVATE, 0, 0x7fffffff, &flag,
          FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0));
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    while (atomic_load(&flag) == 0)
        futex(&flag, FUTEX_WAIT_PRIVATE, 0, 0, NULL, 0);
    long sum = 0;
    for (int i = 0; i < 64; i++)
        sum += buffer[i];
    pthread_join(t, NULL);
    printf("sum %ld\n", sum);
    return 0;
}
