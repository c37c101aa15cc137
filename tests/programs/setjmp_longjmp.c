/* setjmp_longjmp.c: non-local exits that skip many frames (longjmp out of
 * deep recursion), nested jmp_bufs, and sigsetjmp/siglongjmp restoring the
 * signal mask, so the translator must cope with the stack pointer and
 * return addresses jumping without any ret. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

static jmp_buf outer, inner;
static sigjmp_buf with_mask;

__attribute__((noinline)) static int dive(int depth, int bail_at, jmp_buf *env) {
    volatile char pad[64];
    pad[depth & 63] = (char)depth;
    if (depth == bail_at) {
        longjmp(*env, depth + pad[depth & 63] * 0 + 1);
    }
    return dive(depth + 1, bail_at, env) + 1;
}

__attribute__((noinline)) static int nested(int n) {
    volatile int total = 0;
    for (volatile int i = 0; i < n; i++) {
        int r = setjmp(inner);
        if (r == 0) {
            dive(0, 100 + i * 37 % 500, &inner);
        } else {
            total += r;
        }
        if (i == n - 1) {
            longjmp(outer, total);
        }
    }
    return -1;
}

int main(void) {
    int r = setjmp(outer);
    if (r == 0) {
        nested(2000);
        puts("not reached");
        return 1;
    }
    printf("outer got %d\n", r);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    volatile int jumps = 0;
    if (sigsetjmp(with_mask, 1) < 3) {
        /* Change the mask; siglongjmp must bring SIGUSR1-only back. */
        sigset_t more;
        sigemptyset(&more);
        sigaddset(&more, SIGUSR2);
        sigprocmask(SIG_BLOCK, &more, NULL);
        jumps++;
        siglongjmp(with_mask, jumps);
    }
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("jumps %d, USR1 blocked %d, USR2 blocked %d\n", jumps,
           sigismember(&now, SIGUSR1), sigismember(&now, SIGUSR2));
    return 0;
}
