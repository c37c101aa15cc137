/* size_disjoint_halves.c: one thread writes the lower 4 bytes of an 8-byte
 * word, the other the upper 4 bytes; then main reads the whole word after
 * joining. Race-free: the halves do not overlap. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

union word {
    uint64_t whole;
    uint32_t half[2];
} word;

static void *worker(void *arg)
{
    (void)arg;
    word.half[1] = 0x11223344u;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    word.half[0] = 0x55667788u;
    pthread_join(t, NULL);
    printf("%016llx\n", (unsigned long long)word.whole);
    return 0;
}
