/* red_zone.c: leaf functions that keep live data in the 128 bytes below
 * the stack pointer (the System V red zone), across branches, loops and
 * block boundaries. Instrumentation that pushes, calls or spills onto the
 * guest stack would overwrite these values and change the results. */
#include <stdint.h>
#include <stdio.h>

/* Stores the 16 inputs below rsp, loops over them with conditional
 * branches (many translated blocks), reads them back, never moving rsp. */
uint64_t red_zone_mix(const uint64_t *in, uint64_t rounds);
__asm__(
    ".text\n"
    ".globl red_zone_mix\n"
    ".type red_zone_mix, @function\n"
    "red_zone_mix:\n"
    "    xorl %ecx, %ecx\n"
    "1:  movq (%rdi,%rcx,8), %rax\n"
    "    movq %rax, -128(%rsp,%rcx,8)\n"
    "    incq %rcx\n"
    "    cmpq $16, %rcx\n"
    "    jne 1b\n"
    "    xorl %eax, %eax\n"
    "2:  testq %rsi, %rsi\n"
    "    jz 5f\n"
    "    decq %rsi\n"
    "    xorl %ecx, %ecx\n"
    "3:  movq -128(%rsp,%rcx,8), %rdx\n"
    "    testb $1, %dl\n"
    "    jz 4f\n"
    "    leaq 1(%rdx,%rdx,2), %rdx\n"
    "    jmp 6f\n"
    "4:  shrq $1, %rdx\n"
    "6:  movq %rdx, -128(%rsp,%rcx,8)\n"
    "    addq %rdx, %rax\n"
    "    incq %rcx\n"
    "    cmpq $16, %rcx\n"
    "    jne 3b\n"
    "    jmp 2b\n"
    "5:  movq -8(%rsp), %rdx\n"
    "    xorq %rdx, %rax\n"
    "    ret\n"
    ".size red_zone_mix, .-red_zone_mix\n");

/* Red zone use across an indirect jump and a syscall-free libc-free path:
 * writes the first word right below rsp, jumps through a register, then
 * checks it. Returns 1 if the word survived. */
uint64_t red_zone_survives(uint64_t value);
__asm__(
    ".text\n"
    ".globl red_zone_survives\n"
    ".type red_zone_survives, @function\n"
    "red_zone_survives:\n"
    "    movq %rdi, -8(%rsp)\n"
    "    movq %rdi, -64(%rsp)\n"
    "    notq %rdi\n"
    "    movq %rdi, -120(%rsp)\n"
    "    leaq 7f(%rip), %rax\n"
    "    jmp *%rax\n"
    "7:  movq -120(%rsp), %rdx\n"
    "    notq %rdx\n"
    "    xorl %eax, %eax\n"
    "    cmpq %rdx, -8(%rsp)\n"
    "    jne 8f\n"
    "    cmpq %rdx, -64(%rsp)\n"
    "    jne 8f\n"
    "    movl $1, %eax\n"
    "8:  ret\n"
    ".size red_zone_survives, .-red_zone_survives\n");

/* The compiler's own red-zone use: a leaf with locals and no stack
 * adjustment at -O1, with inline asm writing just below rsp too. */
__attribute__((noinline)) static uint64_t leaf_locals(uint64_t x) {
    volatile uint64_t a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = x * (i + 1);
    }
    uint64_t below;
    __asm__ volatile("movq %1, -8(%%rsp)\n\t"
                     "addq $1, -8(%%rsp)\n\t"
                     "movq -8(%%rsp), %0"
                     : "=r"(below)
                     : "r"(x)
                     : "memory");
    uint64_t s = below;
    for (int i = 0; i < 8; i++) {
        s += a[i];
    }
    return s;
}

int main(void) {
    uint64_t in[16];
    for (int i = 0; i < 16; i++) {
        in[i] = 27 + 1000 * (uint64_t)i;
    }
    printf("mix %llu\n", (unsigned long long)red_zone_mix(in, 200000));
    uint64_t ok = 0;
    for (uint64_t v = 0; v < 100000; v++) {
        ok += red_zone_survives(v * 0x9e3779b97f4a7c15ull);
    }
    printf("survived %llu of 100000\n", (unsigned long long)ok);
    uint64_t s = 0;
    for (uint64_t v = 0; v < 100000; v++) {
        s += leaf_locals(v);
    }
    printf("leaf locals %llu\n", (unsigned long long)s);
    return 0;
}
