/* lockorder_consistent.c: two threads both take a then b, always in the
 * same order, and update shared state under both. No lock-order report and
 * no race. */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;
int balance_a = 100, balance_b = 100;

static void *transfer(void *arg)
{
    int amount = (int)(long)arg;
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&a);
        pthread_mutex_lock(&b);
        balance_a -= amount;
        balance_b += amount;
        pthread_mutex_unlock(&b);
        pthread_mutex_unlock(&a);
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, transfer, (void *)1L);
    transfer((void *)-1L);
    pthread_join(t, NULL);
    printf("%d %d\n", balance_a, balance_b);
    return 0;
}
