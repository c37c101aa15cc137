/* futex_mutex_racy.c: the futex mutex of futex_mutex.c, three threads
 * bumping a plain counter under it, and main reading the counter without
 * taking the mutex while the workers run.
 * expect-race: write 8 futex_mutex_racy.c:47 / read 8 futex_mutex_racy.c:58 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_int mutex;
static long counter;
volatile long sink;

static void futex(atomic_int *word, int op, int val)
{
    syscall(SYS_futex, (int *)word, op, val, NULL, NULL, 0);
}

static void lock(atomic_int *m)
{
    int c = 0;
    if (atomic_compare_exchange_strong(m, &c, 1))
        return;
    if (c != 2)
        c = atomic_exchange(m, 2);
    while (c != 0) {
        futex(m, FUTEX_WAIT_PRIVATE, 2);
        c = atomic_exchange(m, 2);
    }
}

static void unlock(atomic_int *m)
{
    if (atomic_fetch_sub(m, 1) != 1) {
        atomic_store_explicit(m, 0, memory_order_release);
        futex(m, FUTEX_WAKE_PRIVATE, 1);
    }
}

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        lock(&mutex);
        counter++;
        unlock(&mutex);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    sink = counter;
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    printf("counter %ld\n", counter);
    return 0;
}
