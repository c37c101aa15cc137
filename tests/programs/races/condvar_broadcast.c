/* condvar_broadcast.c: two consumers wait on one condition variable; main
 * writes a value, sets the flag and wakes both with pthread_cond_broadcast.
 * Race-free. */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
int go;
int value;

static void *consumer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!go)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    return (void *)(long)value;
}

int main(void)
{
    pthread_t t1, t2;
    void *v1, *v2;
    pthread_create(&t1, NULL, consumer, NULL);
    pthread_create(&t2, NULL, consumer, NULL);
    value = 77;
    pthread_mutex_lock(&lock);
    go = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    pthread_join(t1, &v1);
    pthread_join(t2, &v2);
    printf("%ld %ld\n", (long)v1, (long)v2);
    return 0;
}
