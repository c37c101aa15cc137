/* barrier_phases.c: two threads each write their own slot, meet at a
 * pthread barrier, then read the other's slot. Race-free. */
#include <pthread.h>
#include <stdio.h>

pthread_barrier_t barrier;
int slots[2];

static void *worker(void *arg)
{
    long me = (long)arg;
    slots[me] = (int)me + 10;
    pthread_barrier_wait(&barrier);
    return (void *)(long)slots[1 - me];
}

int main(void)
{
    pthread_t t;
    void *other;
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_create(&t, NULL, worker, (void *)1L);
    void *mine = worker((void *)0L);
    pthread_join(t, &other);
    pthread_barrier_destroy(&barrier);
    printf("%ld %ld\n", (long)mine, (long)other);
    return 0;
}
