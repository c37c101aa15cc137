/* race_then.c: two threads store to a global without a lock (one race
 * context), then: with "crash", die of SIGSEGV; with "wait", print "raced"
 * and wait to be killed; without an argument, exit 0.
 * The JSON and SARIF reports must be whole in each case (report_formats.rs). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int shared;

static void *writer(void *arg)
{
    shared = 1;
    return arg;
}

int main(int argc, char **argv)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, writer, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("raced\n");
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "crash") == 0)
        *(volatile int *)16 = 1;
    if (argc > 1 && strcmp(argv[1], "wait") == 0)
        for (;;)
            pause();
    return 0;
}
