/* mutex_trylock.c: both threads take the mutex with pthread_mutex_trylock,
 * retrying until it succeeds, and update a shared counter. A successful
 * trylock synchronises like lock. Race-free. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
int counter;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) {
        while (pthread_mutex_trylock(&lock) != 0)
            sched_yield();
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    worker(NULL);
    pthread_join(t, NULL);
    printf("counter %d\n", counter);
    return 0;
}
