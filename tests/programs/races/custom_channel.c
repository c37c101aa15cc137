/* custom_channel.c: a producer fills a slot, then sends a one-byte message
 * over a channel library of the program's own (a pipe); the consumer
 * receives each message and reads its slot. The model file says chan_send
 * releases and a successful chan_recv acquires the channel.
 * ThreadSanitizer orders a pipe's write before the read that gets it.
 * Race-free.
 * hbgrind-options: --lock-model=custom_channel.model */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

struct channel {
    int fds[2];
};

__attribute__((noinline)) void chan_send(struct channel *c)
{
    char byte = 1;
    if (write(c->fds[1], &byte, 1) != 1)
        perror("write");
}

__attribute__((noinline)) int chan_recv(struct channel *c)
{
    char byte;
    return read(c->fds[0], &byte, 1) == 1 ? 0 : -1;
}

struct channel chan;
int slots[16];

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 16; i++) {
        slots[i] = i * 7;
        chan_send(&chan);
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    if (pipe(chan.fds) != 0)
        return 1;
    pthread_create(&t, NULL, producer, NULL);
    int sum = 0;
    for (int i = 0; i < 16; i++)
        if (chan_recv(&chan) == 0)
            sum += slots[i];
    pthread_join(t, NULL);
    printf("%d\n", sum);
    return 0;
}
