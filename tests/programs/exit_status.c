/* exit_status.c: ends the way its argument says, so the launcher's tests can
 * check that hbgrind's status is the program's own.
 *   N      print "exiting with N" and exit(N)
 *   abort  abort()              (dies of SIGABRT)
 *   segv   store through NULL   (dies of SIGSEGV)
 *   term   raise(SIGTERM)       (dies of SIGTERM) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: exit_status N|abort|segv|term\n");
        return 2;
    }
    if (strcmp(argv[1], "abort") == 0) {
        abort();
    }
    if (strcmp(argv[1], "segv") == 0) {
        *(volatile int *)0 = 1;
    }
    if (strcmp(argv[1], "term") == 0) {
        raise(SIGTERM);
    }
    int code = atoi(argv[1]);
    printf("exiting with %d\n", code);
    return code;
}
