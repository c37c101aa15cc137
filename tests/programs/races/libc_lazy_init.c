/* libc_lazy_init.c: four threads use libc functions whose internal state
 * glibc initialises lazily on first use (the unwinder link that
 * pthread_exit takes, locale and time-zone data, strerror's table), then
 * exit with pthread_exit; main joins them. glibc publishes that state with
 * plain loads and stores under its own internal lock (double-checked
 * initialisation), which is correct for libc on x86-64: both sides are
 * libc's own code on libc's own data. Race-free. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static char lines[4][128];

static void *worker(void *arg)
{
    long id = (long)arg;
    time_t t = 86400 * id;
    struct tm tm;
    gmtime_r(&t, &tm);
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    snprintf(lines[id], sizeof lines[id], "%ld %s %s %.1f", id, day, strerror(2), 1.5);
    pthread_exit(NULL);
}

int main(void)
{
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        puts(lines[i]);
    return 0;
}
