/* Writes through a bad pointer and dies of SIGSEGV at address 0x10, after
 * printing a line, inside a function called from main. */
#include <stdio.h>

__attribute__((noinline)) static void crash(int *p) {
    *p = 1;
}

int main(void) {
    printf("before\n");
    fflush(stdout);
    crash((int *)16);
    return 0;
}
