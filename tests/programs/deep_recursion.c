/* deep_recursion.c: non-tail recursion hundreds of thousands of frames
 * deep (about 6 MiB of the 8 MiB default stack), plus the Ackermann
 * function, so returns are mispredicted by any shadow-stack scheme and the
 * guest stack grows into fresh pages many times. */
#include <stdint.h>
#include <stdio.h>

__attribute__((noinline)) static uint64_t depth_sum(uint64_t n, volatile uint64_t *sink) {
    if (n == 0) {
        return 0;
    }
    uint64_t below = depth_sum(n - 1, sink);
    *sink += n;
    return below * 3 + (n & 7);
}

__attribute__((noinline)) static uint64_t ackermann(uint64_t m, uint64_t n) {
    if (m == 0) {
        return n + 1;
    }
    if (n == 0) {
        return ackermann(m - 1, 1);
    }
    return ackermann(m - 1, ackermann(m, n - 1));
}

__attribute__((noinline)) static uint64_t fib(unsigned n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(void) {
    volatile uint64_t sink = 0;
    for (int round = 0; round < 5; round++) {
        uint64_t r = depth_sum(150000, &sink);
        printf("depth_sum round %d: %llu\n", round, (unsigned long long)r);
    }
    printf("sink %llu\n", (unsigned long long)sink);
    printf("ackermann(2, 2000) %llu\n", (unsigned long long)ackermann(2, 2000));
    printf("ackermann(3, 8) %llu\n", (unsigned long long)ackermann(3, 8));
    printf("fib(30) %llu\n", (unsigned long long)fib(30));
    return 0;
}
