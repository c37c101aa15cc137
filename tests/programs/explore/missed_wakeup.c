/* tests/programs/explore/missed_wakeup.c (issue 12): a missed wake-up.
 * The waiter checks `ready` in one critical section and waits on the
 * condition variable in another, some work later; the signaller sets
 * `ready` and signals in between only in some schedules. Then the signal
 * finds no waiter, the waiter sleeps forever and main waits for it:
 * every thread waits on a futex, which hbgrind reports as a deadlock. */
#include <pthread.h>
#include <stdio.h>

static int ready;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static __thread volatile unsigned long sink;

/* Each loop iteration is one block: `n` blocks of the thread's own work. */
static void compute(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        sink += i;
}

static void *waiter(void *arg)
{
    compute(200);
    pthread_mutex_lock(&m);
    int r = ready;
    pthread_mutex_unlock(&m);
    compute(6000); /* the window: the signal can come and go */
    if (!r) {
        pthread_mutex_lock(&m);
        pthread_cond_wait(&c, &m);
        pthread_mutex_unlock(&m);
    }
    return arg;
}

static void *signaller(void *arg)
{
    compute(200);
    pthread_mutex_lock(&m);
    ready = 1;
    pthread_cond_signal(&c);
    pthread_mutex_unlock(&m);
    return arg;
}

int main(void)
{
    pthread_t w, s;
    pthread_create(&w, NULL, waiter, NULL);
    pthread_create(&s, NULL, signaller, NULL);
    pthread_join(s, NULL);
    pthread_join(w, NULL);
    printf("done\n");
    return 0;
}
