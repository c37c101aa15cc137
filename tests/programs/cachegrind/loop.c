/* tests/programs/cachegrind/loop.c: loops with known instruction counts
 * and a branchy loop, for --tool=cachegrind against Valgrind's
 * Cachegrind (tests/tests/cachegrind.rs).
 * counted(): the asm line runs 1 + 3 * 1000000 instructions, whatever the
 * compiler. */
#include <stdio.h>

__attribute__((noinline)) long counted(void) {
  long n = 0;
  __asm__ volatile("mov $1000000, %%ecx\n1: add $1, %0\n dec %%ecx\n jnz 1b" : "+r"(n) : : "rcx", "cc");
  return n;
}

__attribute__((noinline)) long work(int n) {
  long s = 0;
  for (int i = 0; i < n; i++)
    s += i * 3;
  return s;
}

__attribute__((noinline)) int branchy(unsigned n) {
  int odd = 0;
  unsigned x = 12345;
  for (unsigned i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    if (x & 0x10000) {
      odd++;
      __asm__ volatile("" ::: "memory"); /* keep the branch a branch */
    }
  }
  return odd;
}

int main(void) {
  long r = work(1000000);
  int b = branchy(100000);
  long c = counted();
  printf("%ld %d %ld\n", r, b, c);
  return 0;
}
