/* plain_flag_publication_race.c: the producer fills data and sets a plain
 * (volatile, not atomic) flag; the consumer waits for the flag, yielding
 * between loads, and reads the data. Nothing makes the flag atomic: both
 * the flag and the data race.
 * expect-race: write 4 plain_flag_publication_race.c:19 / read 4 plain_flag_publication_race.c:27
 * expect-race: write 4 plain_flag_publication_race.c:18 / read 4 plain_flag_publication_race.c:29 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

volatile int ready;
int data;
volatile int value;

static void *producer(void *arg)
{
    (void)arg;
    data = 42;
    ready = 1;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    while (!ready)
        sched_yield();
    value = data;
    printf("value %d\n", value);
    pthread_join(t, NULL);
    return 0;
}
