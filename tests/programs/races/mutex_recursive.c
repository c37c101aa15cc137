/* mutex_recursive.c: a recursive mutex taken twice by the same thread
 * (nested), by two threads, protecting a counter. Race-free. */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t lock;
int counter;

static void bump(void)
{
    pthread_mutex_lock(&lock);
    counter++;
    pthread_mutex_unlock(&lock);
}

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&lock);
        bump();
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&lock, &attr);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    worker(NULL);
    pthread_join(t, NULL);
    pthread_mutex_destroy(&lock);
    printf("counter %d\n", counter);
    return 0;
}
