/* A stack overflow caught on an alternate signal stack, as Rust and Go
 * runtimes do: the handler must run on the sigaltstack. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char alt[1 << 16];
static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)si; (void)uc;
    char here;
    int on_alt = &here >= alt && &here < alt + sizeof alt;
    printf("caught %d on the alternate stack: %d\n", sig, on_alt);
    fflush(stdout);
    _exit(3);
}
__attribute__((noinline)) static long deep(long n) {
    volatile char pad[256];
    pad[0] = (char)n;
    return deep(n + 1) + pad[0];
}
int main(void) {
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
    sigaltstack(&ss, 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, 0);
    printf("%ld\n", deep(0));
    return 0;
}
