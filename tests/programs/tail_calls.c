/* tail_calls.c: calls that leave by jmp instead of call/ret: sibling calls
 * compiled by gcc and hand-written tail jumps, direct and indirect, in
 * mutual recursion deep enough that a translator pushing a return address
 * per tail call would overflow the stack. */
#include <stdint.h>
#include <stdio.h>

#define SIBCALL __attribute__((noinline, optimize("optimize-sibling-calls")))

static SIBCALL uint64_t is_odd(uint64_t n, uint64_t acc);
static SIBCALL uint64_t is_even(uint64_t n, uint64_t acc) {
    if (n == 0) {
        return acc;
    }
    return is_odd(n - 1, acc * 31 + n);
}
static SIBCALL uint64_t is_odd(uint64_t n, uint64_t acc) {
    if (n == 0) {
        return acc ^ 1;
    }
    return is_even(n - 1, acc + (n >> 2));
}

typedef uint64_t (*stage_fn)(uint64_t n, uint64_t acc);
static SIBCALL uint64_t stage_a(uint64_t n, uint64_t acc);
static SIBCALL uint64_t stage_b(uint64_t n, uint64_t acc);
static SIBCALL uint64_t stage_c(uint64_t n, uint64_t acc);
static stage_fn volatile stages[3] = {stage_a, stage_b, stage_c};
static SIBCALL uint64_t stage_a(uint64_t n, uint64_t acc) {
    return n == 0 ? acc : stages[n % 3](n - 1, acc + 1);
}
static SIBCALL uint64_t stage_b(uint64_t n, uint64_t acc) {
    return n == 0 ? acc : stages[(n * 7) % 3](n - 1, acc * 3 % 1000003);
}
static SIBCALL uint64_t stage_c(uint64_t n, uint64_t acc) {
    return n == 0 ? acc : stages[(n + acc) % 3](n - 1, acc ^ n);
}

/* asm_countdown(n): loops n times by jumping from one function's body
 * straight into another's, never returning until n reaches 0. */
uint64_t asm_countdown(uint64_t n);
__asm__(
    ".text\n"
    ".globl asm_countdown\n"
    ".type asm_countdown, @function\n"
    "asm_countdown:\n"
    "    xorl %eax, %eax\n"
    "    jmp asm_ping\n"
    ".size asm_countdown, .-asm_countdown\n"
    ".type asm_ping, @function\n"
    "asm_ping:\n"
    "    testq %rdi, %rdi\n"
    "    jz 1f\n"
    "    decq %rdi\n"
    "    addq $3, %rax\n"
    "    leaq asm_pong(%rip), %rdx\n"
    "    jmp *%rdx\n"
    "1:  ret\n"
    ".size asm_ping, .-asm_ping\n"
    ".type asm_pong, @function\n"
    "asm_pong:\n"
    "    testq %rdi, %rdi\n"
    "    jz 2f\n"
    "    decq %rdi\n"
    "    imulq $5, %rax, %rax\n"
    "    jmp asm_ping\n"
    "2:  ret\n"
    ".size asm_pong, .-asm_pong\n");

int main(void) {
    /* 20 million frames would need far more than the 8 MiB stack. */
    printf("even/odd %llu\n", (unsigned long long)is_even(20000000, 1));
    printf("stages %llu\n", (unsigned long long)stage_a(10000000, 5));
    printf("asm countdown %llu\n", (unsigned long long)asm_countdown(30000001));
    return 0;
}
