/* size_overlap_upper_half.c: an 8-byte write of a whole word races with a
 * 4-byte read of its upper half; the reports carry each access's own size.
 * expect-race: write 8 size_overlap_upper_half.c:17 / read 4 size_overlap_upper_half.c:25 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

union word {
    uint64_t whole;
    uint32_t half[2];
} word;
volatile uint32_t sink;

static void *worker(void *arg)
{
    (void)arg;
    word.whole = 0x1122334455667788ULL;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    sink = word.half[1];
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
