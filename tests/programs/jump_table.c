/* jump_table.c: dense switches (compiled to jump tables: an indirect jmp
 * through a table of offsets) and computed gotos, in a hot loop. */
#include <stdint.h>
#include <stdio.h>

__attribute__((noinline)) static uint64_t step(uint64_t x, unsigned op) {
    switch (op) {
    case 0: return x + 1;
    case 1: return x * 3;
    case 2: return x ^ 0x5555;
    case 3: return x >> 1;
    case 4: return x << 2;
    case 5: return x - 7;
    case 6: return ~x;
    case 7: return x * x;
    case 8: return x + 0x1234567;
    case 9: return x | 0x80;
    case 10: return x & 0xffffff;
    case 11: return x / 3;
    case 12: return x % 1000003;
    case 13: return (x << 7) | (x >> 57);
    case 14: return x + (x >> 3);
    case 15: return x ^ (x << 13);
    default: return x + op;
    }
}

/* An interpreter with a computed-goto dispatch table. */
__attribute__((noinline)) static int64_t run(const uint8_t *code, int64_t acc) {
    static void *const dispatch[] = {&&op_add, &&op_mul, &&op_neg, &&op_jnz, &&op_halt, &&op_dec};
    int64_t counter = 0;
    const uint8_t *pc = code;
    goto *dispatch[*pc];
op_add:
    acc += pc[1];
    pc += 2;
    goto *dispatch[*pc];
op_mul:
    acc = acc * pc[1] % 1000000007;
    pc += 2;
    goto *dispatch[*pc];
op_neg:
    acc = -acc;
    pc += 1;
    goto *dispatch[*pc];
op_dec:
    counter = counter ? counter - 1 : pc[1];
    pc += 2;
    goto *dispatch[*pc];
op_jnz:
    pc = counter ? code + pc[1] : pc + 2;
    goto *dispatch[*pc];
op_halt:
    return acc;
}

int main(void) {
    uint64_t x = 1;
    uint64_t histogram[17] = {0};
    for (unsigned i = 0; i < 2000000; i++) {
        unsigned op = (unsigned)((x >> 11) ^ i) % 17;
        histogram[op]++;
        x = step(x, op);
    }
    printf("x %llu\n", (unsigned long long)x);
    for (int i = 0; i < 17; i++) {
        printf("op %d: %llu\n", i, (unsigned long long)histogram[i]);
    }
    /* dec 200 (sets counter), add 3, mul 7, neg, dec, jnz -> offset 2, halt */
    static const uint8_t program[] = {5, 200, 0, 3, 1, 7, 2, 5, 0, 3, 2, 4};
    printf("interpreter %lld\n", (long long)run(program, 1));
    return 0;
}
