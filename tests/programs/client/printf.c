/* printf.c: VALGRIND_PRINTF and VALGRIND_PRINTF_BACKTRACE write to the
 * tool's log (each line behind `==PID== `, the backtrace as a stack); the
 * program's own stdout is unchanged, and natively both print nothing. */
#include <stdio.h>
#include <valgrind/valgrind.h>

__attribute__((noinline)) static void inner(int n)
{
    VALGRIND_PRINTF_BACKTRACE("backtrace from inner, n=%d\n", n);
    __asm__ volatile("" ::: "memory"); /* no tail call: keep inner's frame */
}

__attribute__((noinline)) static void outer(int n)
{
    inner(n + 1);
    __asm__ volatile("" ::: "memory");
}

int main(void)
{
    VALGRIND_PRINTF("hello from the client, %d and %s\n", 42, "text");
    outer(6);
    printf("stdout line\n");
    return 0;
}
