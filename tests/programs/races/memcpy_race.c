/* memcpy_race.c: a worker copies a 256-byte source buffer with memcpy (a
 * real library call) while main overwrites one aligned 8-byte word of the
 * source. The memcpy side is a read of size 8 (one aligned word of the
 * range).
 * expect-race: read 8 memcpy_race.c:17 / write 8 memcpy_race.c:25 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

long source[32];
long target[32];
volatile size_t length = sizeof source;

static void *worker(void *arg)
{
    (void)arg;
    memcpy(target, source, length);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    source[8] = 5;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
