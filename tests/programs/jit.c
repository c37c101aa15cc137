/* jit.c: code generated at run time, as a JIT does: machine code written
 * into anonymous memory and called, then rewritten in place and called
 * again (self-modifying code; hbgrind's default --smc-check=all-non-file
 * must notice), and a W^X variant that flips the page between writable
 * and executable with mprotect. Prints what each version returned. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef int64_t (*fn)(int64_t);

/* lea rax, [rdi + imm32]; ret */
static void emit_add(uint8_t *p, int32_t imm) {
    static const uint8_t code[] = {0x48, 0x8d, 0x87, 0, 0, 0, 0, 0xc3};
    memcpy(p, code, sizeof code);
    memcpy(p + 3, &imm, 4);
}

/* imul rax, rdi, imm32; ret */
static void emit_mul(uint8_t *p, int32_t imm) {
    static const uint8_t code[] = {0x48, 0x69, 0xc7, 0, 0, 0, 0, 0xc3};
    memcpy(p, code, sizeof code);
    memcpy(p + 3, &imm, 4);
}

int main(void) {
    uint8_t *rwx = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rwx == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    int64_t total = 0;
    for (int32_t i = 1; i <= 2000; i++) {
        if (i % 2) {
            emit_add(rwx, i);
        } else {
            emit_mul(rwx, i);
        }
        total += ((fn)rwx)(1000); /* same address, new code every time */
        total %= 1000000007;
    }
    printf("rwx total %lld\n", (long long)total);

    uint8_t *wx = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    total = 0;
    for (int32_t i = 1; i <= 300; i++) {
        mprotect(wx, 4096, PROT_READ | PROT_WRITE);
        emit_add(wx + (i % 3) * 16, i * 3);
        mprotect(wx, 4096, PROT_READ | PROT_EXEC);
        total += ((fn)(wx + (i % 3) * 16))(i);
    }
    printf("w^x total %lld\n", (long long)total);
    return 0;
}
