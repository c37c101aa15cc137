/* memcpy_disjoint.c: two threads memcpy into the two halves of one buffer
 * (128 bytes each, from a shared read-only source), then main checks the
 * result after joining. Race-free. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

char source[256];
char target[256];
volatile size_t half = 128;

static void *worker(void *arg)
{
    long part = (long)arg;
    memcpy(target + part * half, source + part * half, half);
    return NULL;
}

int main(void)
{
    pthread_t t;
    for (int i = 0; i < 256; i++)
        source[i] = (char)i;
    pthread_create(&t, NULL, worker, (void *)1L);
    worker((void *)0L);
    pthread_join(t, NULL);
    printf("%s\n", memcmp(source, target, sizeof target) == 0 ? "same" : "different");
    return 0;
}
