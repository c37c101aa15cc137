/* Hard cases for the translator; each prints what a native run prints.
 * Usage: hard CASE (see main). Built with cc -O2 by tests/programs.rs. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cpuid.h>
#include <sys/syscall.h>
#include <execinfo.h>
#include <immintrin.h>

static const char *rodata_words[] = {"alpha", "beta", "gamma", "delta"};
static int counter; /* RIP-relative data */

__attribute__((noinline)) static int op(int k, int x) {
    switch (k) { /* a jump table at -O2 */
    case 0: return x + 1;
    case 1: return x * 3;
    case 2: return x - 7;
    case 3: return x ^ 0x55;
    case 4: return x << 2;
    case 5: return x >> 1;
    case 6: return ~x;
    default: return x;
    }
}

typedef int (*fn_t)(int);
static int f0(int x) { return x + 10; }
static int f1(int x) { return x * 2; }
static int f2(int x) { return x - 3; }
static fn_t table[] = {f0, f1, f2};

__attribute__((noinline)) static int tail2(int n, int acc);
__attribute__((noinline)) static int tail1(int n, int acc) { return n == 0 ? acc : tail2(n - 1, acc + 1); }
__attribute__((noinline)) static int tail2(int n, int acc) { return n == 0 ? acc : tail1(n - 1, acc + 2); }

__attribute__((noinline)) static long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
__attribute__((noinline)) static long depth(int n) { volatile char pad[64]; pad[0] = (char)n; return n == 0 ? pad[0] : 1 + depth(n - 1); }

static jmp_buf jb;
__attribute__((noinline)) static void jump_back(int v) { longjmp(jb, v); }

/* A leaf that keeps data in the red zone below rsp. */
__attribute__((noinline)) static long redzone(long a, long b) {
    long r;
    __asm__ volatile(
        "mov %1, -8(%%rsp)\n\t"
        "mov %2, -120(%%rsp)\n\t"
        "mov -8(%%rsp), %0\n\t"
        "add -120(%%rsp), %0\n\t"
        : "=&r"(r) : "r"(a), "r"(b) : "memory");
    return r;
}

static void case_control(void) {
    int x = 1;
    for (int i = 0; i < 1000; i++) x = op(i % 9, x);
    printf("switch %d\n", x);
    int y = 5;
    for (int i = 0; i < 300; i++) y = table[i % 3](y) & 0xffff;
    printf("indirect %d\n", y);
    printf("tail %d\n", tail1(100001, 0));
    printf("fib %ld\n", fib(27));
    printf("depth %ld\n", depth(100000));
    for (int i = 0; i < 4; i++) counter += (int)strlen(rodata_words[i]);
    printf("rodata %d\n", counter);
    printf("redzone %ld\n", redzone(40, 2));
    void *ra = __builtin_return_address(0);
    printf("retaddr-in-libc %d\n", ra != 0);
}

static void case_setjmp(void) {
    volatile int n = 0;
    int v = setjmp(jb);
    n++;
    if (v < 5) jump_back(v + 1);
    printf("setjmp v=%d n=%d\n", v, n);
}

static void case_strings(void) {
    static char a[1 << 16], b[1 << 16];
    for (int i = 0; i < (int)sizeof a; i++) a[i] = (char)(i * 7);
    void *d = b; const void *s = a; size_t n = sizeof a;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    unsigned long sum = 0;
    for (int i = 0; i < (int)sizeof b; i++) sum += (unsigned char)b[i];
    d = b; n = 1000;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(0x41) : "memory");
    /* std; rep movsb backwards; cld */
    d = b + 2000; s = a + 2000; n = 500;
    __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    printf("strings %lu %c %d\n", sum, b[999], memcmp(a + 1501, b + 1501, 500));
}

static void case_cpu(void) {
    unsigned a, b, c, d;
    __cpuid(0, a, b, c, d);
    char vendor[13];
    memcpy(vendor, &b, 4); memcpy(vendor + 4, &d, 4); memcpy(vendor + 8, &c, 4); vendor[12] = 0;
    unsigned long t0 = __rdtsc(), t1 = __rdtsc();
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    printf("cpu %s rdtsc-monotonic %d xcr0-sse %d\n", vendor, t1 >= t0, (lo & 2) != 0);
}

__attribute__((target("avx2"))) static void case_avx2(void) {
    static int v[4096] __attribute__((aligned(32)));
    for (int i = 0; i < 4096; i++) v[i] = i;
    __m256i acc = _mm256_setzero_si256();
    for (int i = 0; i < 4096; i += 8) acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(_mm256_load_si256((__m256i *)&v[i]), _mm256_set1_epi32(3)));
    int out[8];
    _mm256_storeu_si256((__m256i *)out, acc);
    long s = 0;
    for (int i = 0; i < 8; i++) s += out[i];
    double dv[4] = {1.5, 2.5, 3.5, 4.5};
    __m256d x = _mm256_loadu_pd(dv);
    x = _mm256_mul_pd(x, x);
    _mm256_storeu_pd(dv, x);
    printf("avx2 %ld %.2f\n", s, dv[0] + dv[1] + dv[2] + dv[3]);
}

__attribute__((target("avx512f"))) static void case_avx512(void) {
    if (!__builtin_cpu_supports("avx512f")) { printf("avx512 n/a\n"); return; }
    static float f[1024] __attribute__((aligned(64)));
    for (int i = 0; i < 1024; i++) f[i] = (float)i * 0.5f;
    __m512 acc = _mm512_setzero_ps();
    for (int i = 0; i < 1024; i += 16) acc = _mm512_fmadd_ps(_mm512_load_ps(&f[i]), _mm512_set1_ps(2.0f), acc);
    printf("avx512 %.1f\n", _mm512_reduce_add_ps(acc));
}

static void case_fork(void) {
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) { printf("child says hi\n"); fflush(stdout); _exit(7); }
    int st; waitpid(p, &st, 0);
    printf("child exit %d\n", WEXITSTATUS(st));
    fflush(stdout);
    int rc = system("echo from-system");
    printf("system %d\n", WEXITSTATUS(rc));
}

static sigjmp_buf segv_jb;
static void on_segv(int sig) { (void)sig; siglongjmp(segv_jb, 1); }
static void case_segv(void) {
    signal(SIGSEGV, on_segv);
    if (sigsetjmp(segv_jb, 1) == 0) {
        volatile int *p = (int *)16;
        printf("%d\n", *p);
    } else {
        printf("caught SIGSEGV\n");
    }
}

static void case_backtrace(void) {
    void *frames[16];
    int n = backtrace(frames, 16);
    printf("backtrace frames>=2 %d\n", n >= 2);
}

static void *thread_main(void *arg) { printf("in thread\n"); return arg; }

int main(int argc, char **argv) {
    const char *c = argc > 1 ? argv[1] : "control";
    if (!strcmp(c, "control")) case_control();
    else if (!strcmp(c, "setjmp")) case_setjmp();
    else if (!strcmp(c, "strings")) case_strings();
    else if (!strcmp(c, "cpu")) case_cpu();
    else if (!strcmp(c, "avx2")) case_avx2();
    else if (!strcmp(c, "avx512")) case_avx512();
    else if (!strcmp(c, "fork")) case_fork();
    else if (!strcmp(c, "segv")) case_segv();
    else if (!strcmp(c, "backtrace")) case_backtrace();
    else if (!strcmp(c, "int3")) __asm__ volatile("int3");
    else if (!strcmp(c, "ud2")) __asm__ volatile("ud2");
    else if (!strcmp(c, "hlt")) __asm__ volatile("hlt");
    else if (!strcmp(c, "exit3")) exit(3);
    else if (!strcmp(c, "closeall")) {
        /* closes every descriptor but stdout, as daemons and shells do */
        syscall(436 /* close_range */, 3, ~0U, 0);
        for (int fd = 3; fd < 2000; fd++) close(fd);
        close(2);
        printf("closed\n");
    }
    else if (!strcmp(c, "loop")) {
        /* exactly 3 guest instructions per iteration: the inscount test
         * compares the counts of two runs that differ only in n */
        long n = argc > 2 ? atol(argv[2]) : 1000, acc = 0;
        __asm__ volatile("1:\n\tadd $1, %0\n\tdec %1\n\tjnz 1b" : "+r"(acc), "+r"(n));
        return acc == 0;
    }
    else if (!strcmp(c, "gs")) {
        /* a guest that takes GS for itself is refused */
        static long slot = 42;
        long v;
        syscall(158 /* arch_prctl */, 0x1001 /* ARCH_SET_GS */, &slot);
        __asm__ volatile("mov %%gs:0, %0" : "=r"(v));
        printf("gs %ld\n", v);
    }
    else if (!strcmp(c, "thread")) {
        /* clone with CLONE_THREAD: refused with a clear message for now */
        pthread_t t;
        pthread_create(&t, 0, thread_main, 0);
        pthread_join(t, 0);
    }
    return 0;
}
