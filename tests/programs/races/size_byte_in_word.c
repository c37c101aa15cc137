/* size_byte_in_word.c: a 1-byte write to byte 3 of an int races with a
 * 4-byte read of the whole int.
 * expect-race: write 1 size_byte_in_word.c:17 / read 4 size_byte_in_word.c:25 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

union cell {
    uint32_t word;
    uint8_t bytes[4];
} cell;
volatile uint32_t sink;

static void *worker(void *arg)
{
    (void)arg;
    cell.bytes[3] = 0x7f;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    sink = cell.word;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
