/* size_unaligned_overlap.c: a 4-byte write at offset 2 (unaligned; a
 * fixed-size memcpy that the compiler turns into one store)
 * partially overlaps a 2-byte write at offset 4 of the same buffer.
 * expect-race: write 4 size_unaligned_overlap.c:23 / write 2 size_unaligned_overlap.c:31
 * tsan-expect: race write 1 size_unaligned_overlap.c:23 / write 2 size_unaligned_overlap.c:31
 *   (GCC instruments the unaligned store as __tsan_write_range, which TSan
 *   reports with size 1; the instruction is one 4-byte store.) */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

union buffer {
    unsigned char bytes[8];
    uint16_t shorts[4];
    uint64_t align;
} buffer;

static void *worker(void *arg)
{
    (void)arg;
    uint32_t value = 0xdeadbeefu;
    memcpy(&buffer.bytes[2], &value, sizeof value);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    buffer.shorts[2] = 0x1234;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
