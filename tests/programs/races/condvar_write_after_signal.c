/* condvar_write_after_signal.c: the producer signals the consumer and only
 * then, after unlocking, writes a second value; the consumer reads that
 * value after its wait. Nothing orders the late write before the read.
 * expect-race: write 4 condvar_write_after_signal.c:31 / read 4 condvar_write_after_signal.c:20 */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
int ready;
int late;

static void *consumer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!ready)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    return (void *)(long)late;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, consumer, NULL);
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    late = 5;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
