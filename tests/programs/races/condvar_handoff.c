/* condvar_handoff.c: a producer fills a buffer outside the lock, then sets a
 * flag under the mutex and signals; the consumer waits for the flag with
 * pthread_cond_wait and reads the buffer. Race-free. */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
int ready;
int data[8];

static void *consumer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!ready)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    long sum = 0;
    for (int i = 0; i < 8; i++)
        sum += data[i];
    return (void *)sum;
}

int main(void)
{
    pthread_t t;
    void *sum;
    pthread_create(&t, NULL, consumer, NULL);
    for (int i = 0; i < 8; i++)
        data[i] = i + 1;
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    pthread_join(t, &sum);
    printf("sum %ld\n", (long)sum);
    return 0;
}
