/* annotate_happens_before.c: the producer writes data, then
 * ANNOTATE_HAPPENS_BEFORE(&flag) and a relaxed atomic exchange of a flag;
 * the consumer polls the flag with relaxed atomic read-modify-writes, then
 * ANNOTATE_HAPPENS_AFTER(&flag), then reads the data. The annotations supply
 * the ordering the relaxed atomics do not: no race for a tool that honours
 * Helgrind's client requests.
 * tsan-expect: race write 4 annotate_happens_before.c:20 / read 4 annotate_happens_before.c:33
 *   (TSan ignores Valgrind client requests; the relaxed flag orders nothing.) */
#include <pthread.h>
#include <stdio.h>
#include <valgrind/helgrind.h>

int flag;
int data;
volatile int sink;

static void *producer(void *arg)
{
    (void)arg;
    data = 42;
    ANNOTATE_HAPPENS_BEFORE(&flag);
    __atomic_exchange_n(&flag, 1, __ATOMIC_RELAXED);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    while (__atomic_fetch_add(&flag, 0, __ATOMIC_RELAXED) == 0)
        ;
    ANNOTATE_HAPPENS_AFTER(&flag);
    sink = data;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
