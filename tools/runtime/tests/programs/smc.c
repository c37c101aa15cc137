/* Self-modifying code: machine code rewritten in place in RWX memory and
 * called again (the block's check notices), and the W^X flip with mprotect. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef int64_t (*fn)(int64_t);

static void emit(uint8_t *p, int op, int32_t imm) {
    /* lea rax, [rdi + imm32]; ret   or   imul rax, rdi, imm32; ret */
    const uint8_t add[] = {0x48, 0x8d, 0x87, 0, 0, 0, 0, 0xc3};
    const uint8_t mul[] = {0x48, 0x69, 0xc7, 0, 0, 0, 0, 0xc3};
    memcpy(p, op ? mul : add, 8);
    memcpy(p + 3, &imm, 4);
}

int main(void) {
    uint8_t *rwx = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int64_t total = 0;
    for (int i = 1; i <= 500; i++) {
        emit(rwx, i % 2, i);
        total = (total + ((fn)rwx)(1000)) % 1000000007;
    }
    printf("rwx %lld\n", (long long)total);
    uint8_t *wx = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    total = 0;
    for (int i = 1; i <= 100; i++) {
        mprotect(wx, 4096, PROT_READ | PROT_WRITE);
        emit(wx + (i % 3) * 16, 0, i * 3);
        mprotect(wx, 4096, PROT_READ | PROT_EXEC);
        total += ((fn)(wx + (i % 3) * 16))(i);
    }
    printf("w^x %lld\n", (long long)total);
    return 0;
}
