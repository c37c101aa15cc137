/* memset_race.c: a worker clears a 256-byte buffer with memset (a real
 * library call: the length is only known at run time) while main stores one
 * byte in the middle. A range access is reported per aligned 8-byte word, so
 * the memset side is a write of size 8.
 * expect-race: write 8 memset_race.c:16 / write 1 memset_race.c:24 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

char buffer[256];
volatile size_t length = sizeof buffer;

static void *worker(void *arg)
{
    (void)arg;
    memset(buffer, 0, length);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    buffer[100] = 1;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
