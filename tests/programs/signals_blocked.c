/* signals_blocked.c: signals delivered to threads blocked in syscalls
 * (issue 16, item 1). Natively the handler runs at once; the syscall is then
 * restarted (SA_RESTART, for the calls the kernel restarts) or fails with
 * EINTR, and pthread_cancel ends a thread blocked at a cancellation point.
 *
 * Every signal is sent only once its target is seen blocked in the expected
 * syscall (/proc/PID/task/TID/syscall), and every handler writes one byte
 * to a pipe the sender reads before it goes on, so the output is the same
 * on every run, natively or not. A run that never sees its target block
 * exits with status 3 instead of hanging.
 *
 *   restart-thread  signal(SIGTERM) (SA_RESTART) then sigaction(SIGUSR1)
 *                   without it; a second thread kill()s the process while
 *                   the main thread reads a pipe that never gets data
 *   restart-fork    the same, the signals sent by a child process to a
 *                   single-threaded parent
 *   eintr           sigaction without SA_RESTART: read fails at once
 *   cancel-cond     pthread_cancel of a thread in pthread_cond_wait
 *   cancel-read     pthread_cancel of a thread in read
 *   cancel-async    asynchronous cancellation of a thread in a busy loop
 *   futex-sleep     pthread_kill of a thread in pthread_cond_wait (the
 *                   handler runs, the wait goes on) and of one in nanosleep
 *                   (EINTR with the remaining time)
 *   stress N        N signals to threads in read, futex waits and nanosleep,
 *                   with and without SA_RESTART, each counted
 *   sigsuspend      sigsuspend and ppoll with a mask of their own: the
 *                   handler runs with that mask, the old one comes back;
 *                   then a blocked SIGCHLD is let in by sigsuspend
 *   masked-spinner  a thread created with every signal blocked (as QEMU
 *                   creates its vCPU threads) spins until the main
 *                   thread's SIGTERM handler sets a flag; the spinner's
 *                   mask reads back with SIGRTMAX blocked; then a child
 *                   process sends 200 SIGUSR1 while the spinner spins and
 *                   the main thread sleeps in short steps, and every
 *                   handler must run on the main thread */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int ack[2];  /* every handler writes one byte here */
static int data[2]; /* written only to end a reader */
static pid_t pid;

static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

/* The syscall thread `tid` of process `p` is blocked in (-1 if running),
 * with its first argument in *arg0. */
static long blocked_in(pid_t p, pid_t tid, unsigned long *arg0) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)p, (int)tid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    if (buf[0] < '0' || buf[0] > '9') return -1; /* "running" */
    char *end;
    long nr = strtol(buf, &end, 10);
    *arg0 = strtoul(end, 0, 16);
    return nr;
}

/* Waits until thread `tid` of `p` sleeps in syscall `nr` with its first
 * argument in [lo, hi]. */
static void wait_blocked(pid_t p, pid_t tid, long nr, unsigned long lo, unsigned long hi) {
    for (int i = 0; i < 200000; i++) {
        unsigned long a0;
        if (blocked_in(p, tid, &a0) == nr && a0 >= lo && a0 <= hi) {
            /* Seen twice in a row: not a passing state. */
            usleep(200);
            if (blocked_in(p, tid, &a0) == nr && a0 >= lo && a0 <= hi) return;
        }
        usleep(100);
    }
    fprintf(stderr, "thread %d never blocked in syscall %ld\n", (int)tid, nr);
    _exit(3);
}

static void take_ack(void) {
    char c;
    while (read(ack[0], &c, 1) != 1) {
        if (errno != EINTR) {
            perror("ack");
            _exit(4);
        }
    }
}

static void give_ack(char c) {
    int saved = errno;
    if (write(ack[1], &c, 1) != 1) _exit(5);
    errno = saved;
}

static volatile sig_atomic_t term_count, usr1_count;
static void on_term(int s) { (void)s; term_count++; give_ack('t'); }
static void on_usr1(int s) { (void)s; usr1_count++; give_ack('1'); }

static void handle(int sig, void (*h)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, 0) != 0) {
        perror("sigaction");
        exit(2);
    }
}

static void block_signals(void) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &s, 0);
}

/* ---- restart-thread, restart-fork ---- */

static void send_restart_then_eintr(pid_t to) {
    wait_blocked(to, to, SYS_read, data[0], data[0]);
    kill(to, SIGTERM);
    take_ack();
    /* Restarted: blocked in the same read again. */
    wait_blocked(to, to, SYS_read, data[0], data[0]);
    kill(to, SIGUSR1);
    take_ack();
}

static void *restart_sender(void *a) {
    (void)a;
    block_signals(); /* the process-directed signals go to the reader */
    send_restart_then_eintr(pid);
    return 0;
}

static int restart(int by_fork) {
    signal(SIGTERM, on_term); /* glibc: SA_RESTART */
    handle(SIGUSR1, on_usr1, 0);
    pthread_t t;
    pid_t child = -1;
    if (by_fork) {
        child = fork();
        if (child == 0) {
            send_restart_then_eintr(getppid());
            _exit(0);
        }
    } else {
        pthread_create(&t, 0, restart_sender, 0);
    }
    char c;
    ssize_t n = read(data[0], &c, 1);
    int e = errno;
    printf("read returned %zd (%s) after %d SIGTERM and %d SIGUSR1\n", n,
           n < 0 ? strerror(e) : "-", (int)term_count, (int)usr1_count);
    if (by_fork) {
        int st;
        waitpid(child, &st, 0);
        printf("sender exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    } else {
        pthread_join(t, 0);
    }
    return 0;
}

/* ---- eintr ---- */

static pthread_t main_thread;
static void *eintr_sender(void *a) {
    (void)a;
    wait_blocked(pid, pid, SYS_read, data[0], data[0]);
    pthread_kill(main_thread, SIGUSR1);
    take_ack();
    return 0;
}

static int eintr(void) {
    handle(SIGUSR1, on_usr1, 0);
    main_thread = pthread_self();
    pthread_t t;
    pthread_create(&t, 0, eintr_sender, 0);
    char c;
    ssize_t n = read(data[0], &c, 1);
    int e = errno;
    printf("read returned %zd (%s) after %d SIGUSR1\n", n, n < 0 ? strerror(e) : "-",
           (int)usr1_count);
    pthread_join(t, 0);
    return 0;
}

/* ---- cancel-cond, cancel-read, cancel-async ---- */

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile pid_t worker_tid;
static volatile int cleanups, started;

static void cleanup(void *a) {
    (void)a;
    cleanups++;
}

static void unlock_cleanup(void *a) {
    cleanups++;
    pthread_mutex_unlock(a);
}

static void *cond_waiter(void *a) {
    (void)a;
    worker_tid = gettid_();
    pthread_mutex_lock(&m);
    pthread_cleanup_push(unlock_cleanup, &m);
    for (;;) pthread_cond_wait(&cv, &m);
    pthread_cleanup_pop(1);
    return 0;
}

static void *reader(void *a) {
    (void)a;
    worker_tid = gettid_();
    pthread_cleanup_push(cleanup, 0);
    char c;
    for (;;) {
        if (read(data[0], &c, 1) == 1) break;
    }
    pthread_cleanup_pop(0);
    return (void *)1;
}

static volatile unsigned long spins;
static void *spinner(void *a) {
    (void)a;
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, 0);
    pthread_cleanup_push(cleanup, 0);
    started = 1;
    for (;;) spins++;
    pthread_cleanup_pop(0);
    return 0;
}

static int cancel(const char *what) {
    pthread_t t;
    if (!strcmp(what, "cond")) {
        pthread_create(&t, 0, cond_waiter, 0);
        while (!worker_tid) usleep(100);
        wait_blocked(pid, worker_tid, SYS_futex, (unsigned long)&cv,
                     (unsigned long)&cv + sizeof cv - 1);
    } else if (!strcmp(what, "read")) {
        pthread_create(&t, 0, reader, 0);
        while (!worker_tid) usleep(100);
        wait_blocked(pid, worker_tid, SYS_read, data[0], data[0]);
    } else {
        pthread_create(&t, 0, spinner, 0);
        while (!started) usleep(100);
        while (spins < 1000) usleep(100);
    }
    int rc = pthread_cancel(t);
    void *r = 0;
    pthread_join(t, &r);
    printf("cancel %s: pthread_cancel %d, joined %s, %d cleanup handler(s) ran\n", what, rc,
           r == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "something else", (int)cleanups);
    /* The cond waiter's cleanup gave the mutex back. */
    if (pthread_mutex_trylock(&m) == 0) {
        printf("mutex free\n");
        pthread_mutex_unlock(&m);
    }
    return 0;
}

/* ---- futex-sleep ---- */

static __thread int who; /* 1: the cond waiter, 2: the sleeper */
static volatile sig_atomic_t ran_in[3];
static volatile int stop;
static volatile pid_t waiter_tid, sleeper_tid;

static void on_usr1_who(int s) {
    (void)s;
    ran_in[who]++;
    give_ack('w');
}

static void *waiter(void *a) {
    (void)a;
    who = 1;
    waiter_tid = gettid_();
    pthread_mutex_lock(&m);
    while (!stop) pthread_cond_wait(&cv, &m);
    pthread_mutex_unlock(&m);
    return 0;
}

static struct timespec rem;
static int sleep_rc, sleep_errno;
static void *sleeper(void *a) {
    (void)a;
    who = 2;
    sleeper_tid = gettid_();
    struct timespec req = {30, 0};
    sleep_rc = nanosleep(&req, &rem);
    sleep_errno = errno;
    return 0;
}

static int futex_sleep(void) {
    handle(SIGUSR1, on_usr1_who, SA_RESTART);
    pthread_t w, s;
    pthread_create(&w, 0, waiter, 0);
    pthread_create(&s, 0, sleeper, 0);
    while (!waiter_tid || !sleeper_tid) usleep(100);
    unsigned long cv_lo = (unsigned long)&cv, cv_hi = cv_lo + sizeof cv - 1;
    wait_blocked(pid, waiter_tid, SYS_futex, cv_lo, cv_hi);
    pthread_kill(w, SIGUSR1);
    take_ack();
    /* The wait goes on (restarted). */
    wait_blocked(pid, waiter_tid, SYS_futex, cv_lo, cv_hi);
    pthread_mutex_lock(&m);
    stop = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&m);
    pthread_join(w, 0);
    wait_blocked(pid, sleeper_tid, SYS_clock_nanosleep, 0, ~0ul);
    pthread_kill(s, SIGUSR1);
    take_ack();
    pthread_join(s, 0);
    printf("handler ran %d time(s) in the cond waiter, %d in the sleeper\n", (int)ran_in[1],
           (int)ran_in[2]);
    printf("nanosleep returned %d (%s), remaining time between 20 and 30 s: %s\n", sleep_rc,
           sleep_rc ? strerror(sleep_errno) : "-",
           rem.tv_sec >= 20 && rem.tv_sec < 30 ? "yes" : "no");
    return 0;
}

/* ---- stress ---- */

static volatile sig_atomic_t handled;
static volatile int eintr_read, eintr_sleep, done_reading;
static volatile pid_t tids[3];

static void on_any(int s) {
    (void)s;
    handled++;
    give_ack('s');
}

static void *stress_reader(void *a) {
    (void)a;
    tids[0] = gettid_();
    char c;
    for (;;) {
        ssize_t n = read(data[0], &c, 1);
        if (n < 0 && errno == EINTR) {
            eintr_read++;
            continue;
        }
        break;
    }
    done_reading = 1;
    return 0;
}

static void *stress_waiter(void *a) {
    (void)a;
    tids[1] = gettid_();
    pthread_mutex_lock(&m);
    while (!stop) pthread_cond_wait(&cv, &m);
    pthread_mutex_unlock(&m);
    return 0;
}

static void *stress_sleeper(void *a) {
    (void)a;
    tids[2] = gettid_();
    while (!stop) {
        struct timespec req = {100, 0}, left;
        if (nanosleep(&req, &left) != 0 && errno == EINTR) {
            if (left.tv_sec < 90) fprintf(stderr, "short remaining time %ld\n", (long)left.tv_sec);
            eintr_sleep++;
        }
    }
    return 0;
}

static int stress(int n) {
    handle(SIGUSR1, on_any, SA_RESTART);
    handle(SIGUSR2, on_any, 0);
    pthread_t t[3];
    pthread_create(&t[0], 0, stress_reader, 0);
    pthread_create(&t[1], 0, stress_waiter, 0);
    pthread_create(&t[2], 0, stress_sleeper, 0);
    while (!tids[0] || !tids[1] || !tids[2]) usleep(100);
    unsigned long cv_lo = (unsigned long)&cv, cv_hi = cv_lo + sizeof cv - 1;
    int sent[3][2] = {{0}};
    for (int i = 0; i < n; i++) {
        int k = i % 3, restart = (i / 3) % 2;
        if (k == 0) wait_blocked(pid, tids[0], SYS_read, data[0], data[0]);
        if (k == 1) wait_blocked(pid, tids[1], SYS_futex, cv_lo, cv_hi);
        if (k == 2) wait_blocked(pid, tids[2], SYS_clock_nanosleep, 0, ~0ul);
        pthread_kill(t[k], restart ? SIGUSR1 : SIGUSR2);
        take_ack();
        sent[k][restart]++;
    }
    /* End the three. */
    pthread_mutex_lock(&m);
    stop = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&m);
    if (write(data[1], "x", 1) != 1) return 6;
    pthread_join(t[0], 0);
    pthread_join(t[1], 0);
    wait_blocked(pid, tids[2], SYS_clock_nanosleep, 0, ~0ul);
    pthread_kill(t[2], SIGUSR1);
    take_ack();
    pthread_join(t[2], 0);
    printf("sent: read %d+%d, futex %d+%d, nanosleep %d+%d (SA_RESTART+not)\n", sent[0][1],
           sent[0][0], sent[1][1], sent[1][0], sent[2][1], sent[2][0]);
    printf("handled %d, read failed with EINTR %d times, nanosleep %d times\n", (int)handled,
           eintr_read, eintr_sleep);
    return 0;
}

/* ---- sigsuspend ---- */

static volatile int usr2_blocked_in_handler = -1;
static void on_usr1_mask(int s) {
    (void)s;
    sigset_t now;
    sigprocmask(SIG_BLOCK, 0, &now);
    usr2_blocked_in_handler = sigismember(&now, SIGUSR2);
}

static void show_masks(const char *call, int rc, int e) {
    sigset_t after;
    sigprocmask(SIG_BLOCK, 0, &after);
    printf("%s returned %d (%s); SIGUSR2 blocked in the handler: %d; blocked after: SIGUSR1 %d, "
           "SIGUSR2 %d\n",
           call, rc, rc < 0 ? strerror(e) : "-", usr2_blocked_in_handler,
           sigismember(&after, SIGUSR1), sigismember(&after, SIGUSR2));
}

static volatile sig_atomic_t chld_seen;

static void on_chld(int sig) {
    (void)sig;
    chld_seen = 1;
}

/* SIGCHLD (si_code CLD_EXITED > 0) blocked, then let in by sigsuspend. */
static void suspend_for_child(void) {
    handle(SIGCHLD, on_chld, 0);
    sigset_t chld, none;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &chld, 0);
    pid_t child = fork();
    if (child == 0) _exit(0);
    while (!chld_seen) sigsuspend(&none);
    waitpid(child, 0, 0);
    printf("SIGCHLD handled in sigsuspend\n");
}

static int suspend(void) {
    handle(SIGUSR1, on_usr1_mask, 0);
    sigset_t both, none;
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &both, 0);
    kill(pid, SIGUSR1); /* pending until the call unblocks it */
    int rc = sigsuspend(&none);
    show_masks("sigsuspend", rc, errno);
    usr2_blocked_in_handler = -1;
    kill(pid, SIGUSR1);
    rc = ppoll(0, 0, 0, &none);
    show_masks("ppoll", rc, errno);
    suspend_for_child();
    return 0;
}

static volatile sig_atomic_t term_seen;
static volatile pid_t term_tid;

static void on_term_flag(int sig) {
    (void)sig;
    term_tid = (pid_t)syscall(SYS_gettid);
    term_seen = 1;
}

static volatile sig_atomic_t usr1_seen, usr1_elsewhere;

static void on_usr1_count(int sig) {
    (void)sig;
    if ((pid_t)syscall(SYS_gettid) != pid) usr1_elsewhere++;
    __atomic_fetch_add(&usr1_seen, 1, __ATOMIC_RELEASE);
    char b = 1;
    if (write(ack[1], &b, 1) != 1) _exit(4);
}

enum { USR1_SENT = 200 };

static void *spin_masked(void *arg) {
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, 0, &now);
    *(int *)arg = sigismember(&now, SIGRTMAX) && sigismember(&now, SIGTERM);
    while (!term_seen || __atomic_load_n(&usr1_seen, __ATOMIC_ACQUIRE) < USR1_SENT) {
    }
    return 0;
}

static int masked_spinner(void) {
    handle(SIGTERM, on_term_flag, SA_RESTART);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    int blocked = -1;
    if (pthread_create(&t, 0, spin_masked, &blocked)) return 2;
    pthread_sigmask(SIG_SETMASK, &old, 0);
    usleep(50000);
    kill(pid, SIGTERM);
    while (!term_seen) usleep(1000);
    handle(SIGUSR1, on_usr1_count, SA_RESTART);
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < USR1_SENT; i++) {
            char b;
            kill(pid, SIGUSR1);
            if (read(ack[0], &b, 1) != 1) _exit(4);
        }
        _exit(0);
    }
    /* Sleeps: so the signals also come while this thread waits for its
     * turn after a syscall, the spinner running. */
    while (__atomic_load_n(&usr1_seen, __ATOMIC_ACQUIRE) < USR1_SENT) usleep(100);
    int status;
    waitpid(child, &status, 0);
    pthread_join(t, 0);
    printf("SIGTERM handled by %s; the spinner's mask blocks SIGRTMAX and SIGTERM: %d\n",
           term_tid == pid ? "the main thread" : "another thread", blocked);
    printf("SIGUSR1 handled %d times, %d of them on the spinner\n", (int)usr1_seen,
           (int)usr1_elsewhere);
    return status == 0 ? 0 : 2;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    setvbuf(stdout, 0, _IONBF, 0);
    pid = getpid();
    if (pipe(ack) || pipe(data)) return 2;
    const char *mode = argv[1];
    if (!strcmp(mode, "restart-thread")) return restart(0);
    if (!strcmp(mode, "restart-fork")) return restart(1);
    if (!strcmp(mode, "eintr")) return eintr();
    if (!strncmp(mode, "cancel-", 7)) return cancel(mode + 7);
    if (!strcmp(mode, "futex-sleep")) return futex_sleep();
    if (!strcmp(mode, "stress")) return stress(argc > 2 ? atoi(argv[2]) : 1000);
    if (!strcmp(mode, "sigsuspend")) return suspend();
    if (!strcmp(mode, "masked-spinner")) return masked_spinner();
    return 2;
}
