/* atomic_seq_cst.c: Dekker-style handoff with sequentially consistent C11
 * atomics (the defaults): the producer fills a struct and stores a flag,
 * the consumer loads the flag until set and reads the struct. Race-free. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

struct message {
    int kind;
    double amount;
} message;
atomic_int posted;

static void *producer(void *arg)
{
    (void)arg;
    message.kind = 3;
    message.amount = 2.5;
    atomic_store(&posted, 1);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    while (atomic_load(&posted) == 0)
        ;
    printf("%d %.1f\n", message.kind, message.amount);
    pthread_join(t, NULL);
    return 0;
}
