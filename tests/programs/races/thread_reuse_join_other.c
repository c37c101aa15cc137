/* thread_reuse_join_other.c: in each round main starts a worker and a
 * detached reaper that joins the worker; main never joins either. The
 * worker's stack goes back to glibc's cache when the reaper joins it, the
 * reaper's when it exits, and main's next round starts threads on them.
 * The join orders the worker before the reaper, not before main or the
 * next round's threads; but a thread's stack, TLS and descriptor die with
 * it: race-free. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static __thread long tls_sum;
long results[12];

static void *worker(void *arg)
{
    long id = (long)arg;
    volatile long scratch[256];
    for (int i = 0; i < 256; i++)
        scratch[i] = id * i;
    for (int i = 0; i < 256; i++)
        tls_sum += scratch[i];
    results[id] = tls_sum;
    return NULL;
}

static void *reaper(void *arg)
{
    pthread_t *worker_thread = arg;
    volatile long scratch[128];
    pthread_join(*worker_thread, NULL);
    for (int i = 0; i < 128; i++)
        scratch[i] = i;
    tls_sum = scratch[5];
    return NULL;
}

int main(void)
{
    static pthread_t workers[12];
    pthread_attr_t detached;
    struct timespec pause = {0, 3 * 1000 * 1000};
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    for (long i = 0; i < 12; i++) {
        pthread_t r;
        pthread_create(&workers[i], NULL, worker, (void *)i);
        pthread_create(&r, &detached, reaper, &workers[i]);
        nanosleep(&pause, NULL);
    }
    nanosleep(&pause, NULL);
    pthread_attr_destroy(&detached);
    printf("done\n");
    return 0;
}
