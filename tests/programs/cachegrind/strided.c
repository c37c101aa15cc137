/* tests/programs/cachegrind/strided.c: reads and writes an array larger
 * than D1 with a known stride, for --tool=cachegrind against Valgrind's
 * Cachegrind on the same configuration (tests/tests/cachegrind.rs).
 * walk(): 4 passes over 1 MiB, one 4-byte read and one 4-byte write per
 * 64-byte line: with a 32 KiB D1 every reference of a pass misses D1.
 * cycle(): 1000 rounds over WAYS lines 4096 bytes apart, all in one set of
 * an 8-way 32 KiB D1 with 64-byte lines: 8 lines miss only on the first
 * round, 9 lines miss on every reference.
 * protect(): 255 rounds of a read of line 0 and of a new line of the same
 * set: LRU keeps line 0 (it is always among the two most recent), so
 * only the new lines miss, and line 0 at most once (FIFO would lose it
 * every 8 rounds). */
#include <stdio.h>
#include <stdlib.h>

#define BYTES (1 << 20)
#define STRIDE 64

__attribute__((noinline)) long walk(volatile char *a, int passes) {
  long sum = 0;
  for (int p = 0; p < passes; p++)
    for (long i = 0; i < BYTES; i += STRIDE) {
      sum += *(volatile int *)(a + i);
      *(volatile int *)(a + i + 8) = (int)i;
    }
  return sum;
}

__attribute__((noinline)) long cycle(volatile char *a, int ways) {
  long sum = 0;
  for (int r = 0; r < 1000; r++)
    for (int w = 0; w < ways; w++)
      sum += a[(long)w * 4096];
  return sum;
}

__attribute__((noinline)) long protect(volatile char *a) {
  long sum = 0;
  for (long r = 1; r < 256; r++)
    sum += a[0] + a[r * 4096];
  return sum;
}

__attribute__((noinline)) void fill(char *a, long n) {
  /* rep stosb: Valgrind counts one instruction per byte stored. */
  __asm__ volatile("rep stosb" : "+D"(a), "+c"(n) : "a"(1) : "memory");
}

int main(void) {
  char *a = malloc(BYTES + 64);
  if (!a)
    return 1;
  fill(a, 4096);
  long s = walk(a, 4);
  s += cycle(a, 8);
  s += cycle(a + 64, 9);
  s += protect(a + 128);
  printf("walked %ld\n", s);
  free(a);
  return 3;
}
