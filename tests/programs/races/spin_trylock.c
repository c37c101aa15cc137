/* spin_trylock.c: pthread_spin_trylock, retried until it succeeds, protects
 * a counter updated by two threads. Race-free. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

pthread_spinlock_t lock;
int counter;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) {
        while (pthread_spin_trylock(&lock) != 0)
            sched_yield();
        counter++;
        pthread_spin_unlock(&lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_spin_init(&lock, PTHREAD_PROCESS_PRIVATE);
    pthread_create(&t, NULL, worker, NULL);
    worker(NULL);
    pthread_join(t, NULL);
    pthread_spin_destroy(&lock);
    printf("counter %d\n", counter);
    return 0;
}
