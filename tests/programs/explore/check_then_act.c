/* tests/programs/explore/check_then_act.c (issue 12): a check-then-act on
 * a shared flag. Each worker checks under the lock whether the slot is
 * free, does some work, then takes it under the lock again. The check and
 * the act are two critical sections: when a switch lands between them and
 * the other worker checks meanwhile, both take the slot and main aborts.
 * Every access is locked, so there is no data race to report; the bug
 * shows only as the abort, and only in some schedules. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int slot_taken;
static int owners;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static __thread volatile unsigned long sink;

/* Each loop iteration is one block: `n` blocks of the thread's own work. */
static void compute(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        sink += i;
}

static void *worker(void *arg)
{
    compute(500);
    pthread_mutex_lock(&m);
    int free_now = !slot_taken;
    pthread_mutex_unlock(&m);
    compute(6000); /* the window: the check no longer holds */
    if (free_now) {
        pthread_mutex_lock(&m);
        slot_taken = 1;
        owners++;
        pthread_mutex_unlock(&m);
    }
    return arg;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, worker, NULL);
    pthread_create(&b, NULL, worker, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    if (owners != 1)
        abort();
    printf("done\n");
    return 0;
}
