/* thread_reuse_detached_tls.c: detached threads, one after another, each
 * writing thread-local variables and a buffer on its own stack, posting a
 * semaphore and then going on writing both before it returns. Main waits
 * for the post, gives the thread time to exit, and starts the next one,
 * which glibc puts on the dead thread's cached stack, static TLS block and
 * descriptor. Nothing but thread exit and creation lies between a dead
 * thread's last accesses and the new thread's first ones; a thread's stack
 * and TLS die with it: race-free. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>

static __thread int tls_counter;
static __thread char tls_buf[512];
sem_t posted;
long results[16];

static void *worker(void *arg)
{
    long id = (long)arg;
    volatile char scratch[1024];
    for (int i = 0; i < 1024; i++)
        scratch[i] = (char)(id + i);
    for (int i = 0; i < 512; i++)
        tls_buf[i] = (char)(id ^ i);
    tls_counter += (int)id;
    results[id] = scratch[17] + tls_buf[3] + tls_counter;
    sem_post(&posted);
    /* After the post: nothing orders these with the next thread. */
    for (int i = 0; i < 1024; i++)
        scratch[i] = 0;
    for (int i = 0; i < 512; i++)
        tls_buf[i] = 0;
    tls_counter = 0;
    return NULL;
}

int main(void)
{
    pthread_attr_t attr;
    struct timespec pause = {0, 2 * 1000 * 1000};
    sem_init(&posted, 0, 0);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (long i = 0; i < 16; i++) {
        pthread_t t;
        pthread_create(&t, &attr, worker, (void *)i);
        sem_wait(&posted);
        nanosleep(&pause, NULL);
    }
    pthread_attr_destroy(&attr);
    long total = 0;
    for (int i = 0; i < 16; i++)
        total += results[i];
    printf("total %ld\n", total);
    return 0;
}
