/* race_then_abort.c: one race (as races/counter_unlocked.c), then the
 * program dies of SIGABRT. The tool's reports must still be complete: the
 * text log has the race and its ERROR SUMMARY, the XML file is a whole
 * document, and the program still dies of SIGABRT. With the argument
 * `exit130` it exits with status 130 instead (a status, not a signal). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

int counter;
volatile int sink;

static void *worker(void *arg)
{
    (void)arg;
    counter += 1;
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    sink = counter;
    pthread_join(t, NULL);
    if (argc > 1) {
        printf("about to exit %d\n", atoi(argv[1] + 4));
        return atoi(argv[1] + 4);
    }
    printf("about to abort\n");
    fflush(stdout);
    abort();
}
