/* fork and system() while other threads exist: the child has one thread
 * and must not wait for the big lock on their behalf. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
static void *bg(void *a) { (void)a; for (int i = 0; i < 50; i++) usleep(1000); return 0; }
int main(void) {
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], 0, bg, 0);
    fflush(stdout);
    int rc = system("echo from-child");
    pid_t p = fork();
    if (p == 0) { printf("forked child\n"); fflush(stdout); _exit(4); }
    int st; waitpid(p, &st, 0);
    for (int i = 0; i < 3; i++) pthread_join(t[i], 0);
    printf("system %d fork %d\n", WEXITSTATUS(rc), WEXITSTATUS(st));
    return 0;
}
