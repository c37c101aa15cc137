/* racy_counter.c: the example the README runs. Two threads bump a shared
 * counter; the worker takes the lock, main forgets to. hbgrind reports the
 * race with both stacks, the locks each side held, and the variable. */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    for (int i = 0; i < 1000; i++)
        counter++; /* the bug: no lock */
    pthread_join(t, NULL);
    printf("counter = %ld\n", counter);
    return 0;
}
