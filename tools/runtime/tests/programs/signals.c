/* Signals under the translator: handlers run translated, at the right
 * moment, with the right mask, and return to where the guest was. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t alarms, usr1, chld;
static void on_alarm(int s) { (void)s; alarms++; }
static void on_usr1(int s, siginfo_t *si, void *uc) {
    (void)uc;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, 0, &cur);
    /* the signal itself is blocked inside its handler */
    usr1 += 1 + 10 * sigismember(&cur, SIGUSR1) + 100 * (si->si_signo == s);
}
static void on_chld(int s) { (void)s; chld++; }
static sigjmp_buf jb;
static void on_segv(int s, siginfo_t *si, void *uc) { (void)s; (void)uc; siglongjmp(jb, (int)((long)si->si_addr & 0xff) + 1); }
static void on_fpe(int s) { (void)s; siglongjmp(jb, 77); }

int main(void) {
    /* 1. A spin loop that never calls the runtime ends by a timer signal. */
    signal(SIGALRM, on_alarm);
    struct itimerval it = {{0, 2000}, {0, 2000}};
    setitimer(ITIMER_REAL, &it, 0);
    volatile unsigned long spins = 0;
    while (alarms < 5) spins++;
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, 0);
    printf("alarms %d\n", alarms >= 5);

    /* 2. raise(): SA_SIGINFO handler, mask inside the handler. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, 0);
    raise(SIGUSR1);
    raise(SIGUSR1);
    printf("usr1 %d\n", usr1);
    struct sigaction old;
    sigaction(SIGUSR1, 0, &old);
    printf("oldact-is-ours %d\n", old.sa_sigaction == on_usr1);

    /* 3. Blocked, then unblocked: delivered at the unblock. */
    sigset_t set, prev;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &prev);
    raise(SIGUSR1);
    int before = usr1;
    sigprocmask(SIG_SETMASK, &prev, 0);
    printf("deferred %d\n", usr1 > before);

    /* 4. A fault in translated code, caught and left with siglongjmp. */
    struct sigaction sv;
    memset(&sv, 0, sizeof sv);
    sv.sa_sigaction = on_segv;
    sv.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sv, 0);
    int v = sigsetjmp(jb, 1);
    if (v == 0) {
        volatile int *p = (int *)0x42;
        *p = 1;
    }
    printf("segv addr-low %d\n", v - 1);
    v = sigsetjmp(jb, 1);
    if (v == 0) {
        volatile int *p = (int *)0x17;
        v = *p;
    }
    printf("segv again %d\n", v - 1);

    /* 5. Integer division by zero: SIGFPE. */
    signal(SIGFPE, on_fpe);
    v = sigsetjmp(jb, 1);
    if (v == 0) {
        volatile int z = 0;
        v = 10 / z;
    }
    printf("fpe %d\n", v);

    /* 6. SIGCHLD from a child. */
    signal(SIGCHLD, on_chld);
    pid_t p = fork();
    if (p == 0) _exit(3);
    int st;
    while (waitpid(p, &st, 0) < 0) {}
    printf("chld %d exit %d\n", chld > 0, WEXITSTATUS(st));

    /* 7. SA_RESETHAND: the second SIGUSR2 kills us, like natively. */
    struct sigaction rh;
    memset(&rh, 0, sizeof rh);
    rh.sa_handler = on_alarm;
    rh.sa_flags = SA_RESETHAND;
    sigaction(SIGUSR2, &rh, 0);
    raise(SIGUSR2);
    printf("resethand %d\n", alarms >= 6);
    fflush(stdout);
    raise(SIGUSR2);
    printf("not reached\n");
    return 0;
}
