/* libc_localtime_threads.c: threads convert times with localtime_r and
 * strftime and read the environment with getenv at once. glibc loads the
 * time-zone data lazily on the first call, under its own lock, and reads it
 * afterwards without one (double-checked initialisation inside libc):
 * race-free. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ok[4];

static void *worker(void *arg)
{
    int me = (int)(long)arg;
    for (int i = 0; i < 20; i++) {
        time_t t = 86400 * (me * 100 + i);
        struct tm tm;
        char text[64];
        localtime_r(&t, &tm);
        strftime(text, sizeof text, "%Y-%m-%d %H:%M", &tm);
        ok[me] += strlen(text) == 16 && getenv("PATH") != NULL;
    }
    return NULL;
}

int main(void)
{
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("%d %d\n", ok[0], ok[3]);
    return 0;
}
