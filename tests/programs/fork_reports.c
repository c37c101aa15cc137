/* fork_reports.c: a parent and its fork child (no exec) each have one data
 * race of their own. With --xml-file=NAME.%p.xml (or --log-file=...%p...)
 * each process must write a complete report of its own into its own file
 * (issue 16, item 2); the child must not touch its parent's file. With an
 * argument: an execv that fails, then the race, in one process.
 * Each process reports one race: the store in bump, by two threads (a
 * store, not counter++, which is two reports: a read and a write). */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int counter;

static void *bump(void *a) {
    counter = 1;
    return a;
}

static void race(void) {
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], 0, bump, 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], 0);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        /* An exec that fails: the program goes on under hbgrind, and its
         * report with it. */
        char *none[] = {"/nonexistent/program", 0};
        execv(none[0], none);
        race();
        printf("exec failed, went on\n");
        return 0;
    }
    (void)argv;
    pid_t child = fork();
    if (child == 0) {
        race();
        printf("child done\n");
        return 0;
    }
    int status;
    waitpid(child, &status, 0);
    race();
    printf("parent done, child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
