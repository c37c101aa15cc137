/* memset_large_race.c: a worker clears a 64 KiB heap buffer with memset
 * (glibc uses `rep stosb` or wide vector stores at this size) while main
 * reads one aligned 8-byte word near the end. The memset side is reported
 * per aligned 8-byte word.
 * expect-race: write 8 memset_large_race.c:17 / read 8 memset_large_race.c:26 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORDS 8192
volatile size_t length = WORDS * sizeof(long);
volatile long sink;

static void *worker(void *arg)
{
    memset(arg, 0, length);
    return NULL;
}

int main(void)
{
    pthread_t t;
    long *buffer = malloc(WORDS * sizeof *buffer);
    pthread_create(&t, NULL, worker, buffer);
    sink = buffer[WORDS - 3];
    pthread_join(t, NULL);
    free(buffer);
    printf("done\n");
    return 0;
}
