/* thread_reuse_tls_escaped_race.c: detached threads come and go, so later
 * threads run on cached stacks and TLS blocks; then a thread hands the
 * address of its own thread-local variable to a sibling it creates, and
 * both write it with nothing ordering the two writes. Forgetting a reused
 * thread's memory at creation must not hide a race through memory a live
 * thread shared.
 * expect-race: write 4 thread_reuse_tls_escaped_race.c:26 / write 4 thread_reuse_tls_escaped_race.c:35 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>

static __thread int tls_value;
sem_t posted;

static void *short_lived(void *arg)
{
    tls_value = (int)(long)arg;
    sem_post(&posted);
    return NULL;
}

static void *sibling(void *arg)
{
    int *shared = arg;
    shared[0] = 1;
    return NULL;
}

static void *owner(void *arg)
{
    (void)arg;
    pthread_t t;
    pthread_create(&t, NULL, sibling, &tls_value);
    tls_value = 2;
    pthread_join(t, NULL);
    return NULL;
}

int main(void)
{
    pthread_attr_t attr;
    struct timespec pause = {0, 2 * 1000 * 1000};
    sem_init(&posted, 0, 0);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (long i = 0; i < 4; i++) {
        pthread_t t;
        pthread_create(&t, &attr, short_lived, (void *)i);
        sem_wait(&posted);
        nanosleep(&pause, NULL);
    }
    pthread_attr_destroy(&attr);
    pthread_t o;
    pthread_create(&o, NULL, owner, NULL);
    pthread_join(o, NULL);
    printf("done\n");
    return 0;
}
