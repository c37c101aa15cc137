/* c11_message_passing.c: a producer fills a struct with plain stores and
 * publishes it with a C11 release store of a flag; the consumer spins with
 * acquire loads until it sees the flag, then reads the struct. The release
 * store happens before the acquire load that reads it: race-free. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

struct message {
    int id;
    long value;
    char text[16];
};

struct message msg;
atomic_int ready;

static void *producer(void *arg)
{
    (void)arg;
    msg.id = 7;
    msg.value = 4200;
    snprintf(msg.text, sizeof msg.text, "hello");
    atomic_store_explicit(&ready, 1, memory_order_release);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    while (!atomic_load_explicit(&ready, memory_order_acquire))
        ;
    printf("%d %ld %s\n", msg.id, msg.value, msg.text);
    pthread_join(t, NULL);
    return 0;
}
