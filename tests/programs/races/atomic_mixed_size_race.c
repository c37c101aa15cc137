/* atomic_mixed_size_race.c: a worker updates the low half of a 64-bit word
 * with 4-byte atomic exchanges while main clears the whole word with one
 * plain 8-byte store. The 4-byte location is atomic, the 8-byte access is
 * not an access of it: mixed-size accesses race.
 * expect-race: write 4 atomic_mixed_size_race.c:19 / write 8 atomic_mixed_size_race.c:29 */
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
    for (int i = 0; i < 100; i++)
        __atomic_exchange_n(&word.half[0], (uint32_t)i, __ATOMIC_SEQ_CST);
    return NULL;
}

int main(void)
{
    pthread_t t;
    volatile uint64_t *whole = &word.whole;
    pthread_create(&t, NULL, worker, NULL);
    for (int i = 0; i < 100; i++)
        whole[0] = 0;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
