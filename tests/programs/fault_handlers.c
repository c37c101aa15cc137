/* fault_handlers.c: synchronous faults caught by the program's own signal
 * handlers: a load from an unmapped address (SIGSEGV, with si_addr), an
 * integer division by zero (SIGFPE), ud2 (SIGILL) and int3 (SIGTRAP), each
 * escaped with siglongjmp, 100 times. The handler must see the guest's
 * fault, at the guest's address, and the program must go on exactly as
 * natively (and, above all, not hang). */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static sigjmp_buf env;
static volatile int last_code;

static void handler(int sig, siginfo_t *si, void *ctx) {
    (void)ctx;
    last_code = si->si_code;
    int bonus = 0;
    if (sig == SIGSEGV && si->si_addr == (void *)16) {
        bonus = 100;
    }
    siglongjmp(env, sig + bonus);
}

__attribute__((noinline)) static int divide(volatile int a, volatile int b) { return a / b; }

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    int signals[] = {SIGSEGV, SIGFPE, SIGILL, SIGTRAP};
    for (int i = 0; i < 4; i++) {
        sigaction(signals[i], &sa, NULL);
    }
    int totals[4] = {0};
    int codes[4] = {0};
    for (int i = 0; i < 400; i++) {
        int kind = i % 4;
        int r = sigsetjmp(env, 1);
        if (r == 0) {
            switch (kind) {
            case 0: totals[0] += *(volatile int *)16; break;
            case 1: totals[1] += divide(i, 0); break;
            case 2: __asm__ volatile("ud2"); break;
            case 3: __asm__ volatile("int3"); break;
            }
            puts("fault did not happen");
            return 1;
        }
        totals[kind] += r;
        codes[kind] = last_code;
    }
    printf("SIGSEGV %d (code %d)\nSIGFPE %d (code %d)\nSIGILL %d (code %d)\nSIGTRAP %d\n",
           totals[0], codes[0], totals[1], codes[1], totals[2], codes[2], totals[3]);
    return 0;
}
