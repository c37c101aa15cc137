/* rip_relative.c: reads and writes global data through RIP-relative
 * operands (compiler-generated and hand-written), so a translator that
 * relocates code must keep each operand pointing at the original data.
 * Prints sums that only come out right if every operand reaches its target. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int64_t table[256];
static const char *const words[] = {"alpha", "beta", "gamma", "delta", "epsilon"};
volatile uint32_t counter;
int64_t exported_total;
static const uint8_t bytes[16] = {1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 121, 98, 219};

/* Hand-written RIP-relative forms: a load, a store, an lea and a
 * read-modify-write with an immediate (whose RIP displacement is relative to
 * the end of the instruction, after the immediate). */
int64_t asm_global = 1000;
__attribute__((noinline)) static int64_t asm_rip(int64_t add) {
    int64_t out;
    __asm__ volatile(
        "movq asm_global(%%rip), %0\n\t"
        "addq %1, %0\n\t"
        "movq %0, asm_global(%%rip)\n\t"
        "addq $7, asm_global(%%rip)\n\t"
        "leaq asm_global(%%rip), %%rcx\n\t"
        "addq (%%rcx), %0\n\t"
        "cmpl $0x12345, counter(%%rip)\n\t"
        "adcq $0, %0\n\t"
        : "=&r"(out)
        : "r"(add)
        : "rcx", "cc", "memory");
    return out;
}

__attribute__((noinline)) static size_t word_lengths(void) {
    size_t total = 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        total += strlen(words[i]) * (i + 1);
    }
    return total;
}

int main(void) {
    for (int i = 0; i < 256; i++) {
        table[i] = (int64_t)i * i - 3 * i;
        counter++;
    }
    int64_t sum = 0;
    for (int round = 0; round < 1000; round++) {
        for (int i = 0; i < 256; i += 3) {
            sum += table[i] ^ bytes[(i + round) & 15];
        }
    }
    exported_total = sum;
    printf("table sum %lld\n", (long long)exported_total);
    printf("counter %u\n", counter);
    printf("word lengths %zu\n", word_lengths());
    int64_t r = 0;
    for (int i = 0; i < 10; i++) {
        r += asm_rip(i);
    }
    printf("asm rip %lld global %lld\n", (long long)r, (long long)asm_global);
    return 0;
}
