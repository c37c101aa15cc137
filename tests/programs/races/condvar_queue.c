/* condvar_queue.c: a bounded producer/consumer work queue (mutex and two
 * condition variables); items are heap blocks filled by the producer and
 * read and freed by the consumer. Race-free. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define SLOTS 4
#define ITEMS 64
pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
int *queue[SLOTS];
int head, count;

static void put(int *item)
{
    pthread_mutex_lock(&lock);
    while (count == SLOTS)
        pthread_cond_wait(&not_full, &lock);
    queue[(head + count) % SLOTS] = item;
    count++;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&lock);
}

static int *take(void)
{
    pthread_mutex_lock(&lock);
    while (count == 0)
        pthread_cond_wait(&not_empty, &lock);
    int *item = queue[head];
    head = (head + 1) % SLOTS;
    count--;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&lock);
    return item;
}

static void *consumer(void *arg)
{
    long sum = 0;
    (void)arg;
    for (int i = 0; i < ITEMS; i++) {
        int *item = take();
        sum += item[0] * item[1];
        free(item);
    }
    return (void *)sum;
}

int main(void)
{
    pthread_t t;
    void *sum;
    pthread_create(&t, NULL, consumer, NULL);
    for (int i = 0; i < ITEMS; i++) {
        int *item = malloc(2 * sizeof *item);
        item[0] = i;
        item[1] = 2;
        put(item);
    }
    pthread_join(t, &sum);
    printf("sum %ld\n", (long)sum);
    return 0;
}
