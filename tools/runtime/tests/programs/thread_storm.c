/* thread_storm.c: 100 rounds of creating 64 threads and joining them, each
 * adding its number to a counter under a mutex; then 4 threads compute
 * while a 1 kHz interval timer interrupts them with SIGALRM. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static long total;
static volatile sig_atomic_t alarms;

static void *add(void *arg)
{
    pthread_mutex_lock(&m);
    total += (long)arg;
    pthread_mutex_unlock(&m);
    return arg;
}

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void *compute(void *arg)
{
    unsigned long x = (unsigned long)arg, s = 0;
    for (long i = 0; i < 30000000; i++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        s += x >> 60;
    }
    return (void *)s;
}

int main(void)
{
    long joined = 0;
    for (int round = 0; round < 100; round++) {
        pthread_t t[64];
        for (long i = 0; i < 64; i++)
            if (pthread_create(&t[i], NULL, add, (void *)i) != 0)
                return 1;
        for (int i = 0; i < 64; i++) {
            void *r;
            pthread_join(t[i], &r);
            joined += (long)r;
        }
    }
    printf("created 6400 threads, total %ld, joined %ld\n", total, joined);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval every_ms = {{0, 1000}, {0, 1000}};
    setitimer(ITIMER_REAL, &every_ms, NULL);
    pthread_t c[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&c[i], NULL, compute, (void *)(i + 1));
    unsigned long sum = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(c[i], &r);
        sum += (unsigned long)r;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("computed %lu, alarms %s\n", sum, alarms > 10 ? "many" : "few");
    return 0;
}
