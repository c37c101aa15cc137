/* libc_file_shared.c: two threads write to one FILE opened with fopen,
 * through fprintf, fputs, fwrite and fflush, and the main thread closes it
 * after joining them. stdio locks the FILE around each call; glibc's lock
 * code reads the lock's owner field before taking the lock (a benign race
 * inside libc, on a heap object only libc looks into): race-free. */
#include <pthread.h>
#include <stdio.h>

static FILE *out;

static void *writer(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < 200; i++) {
        fprintf(out, "thread %ld line %d\n", id, i);
        fputs("--\n", out);
        fwrite("ab\n", 1, 3, out);
        if (i % 50 == 0)
            fflush(out);
    }
    return NULL;
}

int main(void)
{
    out = fopen("/dev/null", "w");
    if (!out)
        return 1;
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, writer, (void *)i);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    fclose(out);
    puts("done");
    return 0;
}
