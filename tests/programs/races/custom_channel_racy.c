/* custom_channel_racy.c: as custom_channel.c, but the producer writes the
 * slot's second field after sending the message: the consumer's read of
 * that field is not ordered after the write.
 * expect-race: write 4 custom_channel_racy.c:36 / read 4 custom_channel_racy.c:49
 * hbgrind-options: --lock-model=custom_channel.model */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
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
struct { int value, extra; } slot;

static void *producer(void *arg)
{
    (void)arg;
    slot.value = 1;
    chan_send(&chan);
    slot.extra = 2;
    return NULL;
}

int main(void)
{
    pthread_t t;
    if (pipe(chan.fds) != 0)
        return 1;
    pthread_create(&t, NULL, producer, NULL);
    if (chan_recv(&chan) != 0)
        return 1;
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    int extra = slot.extra;
    pthread_join(t, NULL);
    printf("%d %d\n", slot.value, extra == 2 || extra == 0);
    return 0;
}
