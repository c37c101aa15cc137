/* Many forks while other threads keep starting and ending threads and
 * entering blocking syscalls: a fork child must never inherit a runtime
 * lock (the scheduler's, the allocator's) held by a thread it does not
 * have, and the threads that ended must not use up the process's mappings
 * (before their mappings were reused, one run in five died of ENOMEM). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
static atomic_int stop;
static void *leaf(void *a) { return a; }
static void *bg(void *a) {
    (void)a;
    struct timespec ts = {0, 1000};
    while (!atomic_load(&stop)) {
        pthread_t t;
        pthread_create(&t, 0, leaf, 0);
        pthread_detach(t);
        nanosleep(&ts, 0);
    }
    return 0;
}
int main(void) {
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], 0, bg, 0);
    int ok = 0;
    for (int i = 0; i < 200; i++) {
        pid_t p = fork();
        if (p == 0) { char *m = malloc(100); _exit(m ? 3 : 1); }
        int st;
        waitpid(p, &st, 0);
        ok += WIFEXITED(st) && WEXITSTATUS(st) == 3;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) pthread_join(t[i], 0);
    printf("children %d\n", ok);
    return 0;
}
