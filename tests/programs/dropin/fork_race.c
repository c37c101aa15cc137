/* The parent forks; the child runs two racing threads and exits; the
 * parent waits and prints the child's status. Races only in the child. */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int counter;

static void *worker(void *arg) {
    counter = counter + 1;
    return arg;
}

int main(void) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t a, b;
        pthread_create(&a, 0, worker, 0);
        pthread_create(&b, 0, worker, 0);
        pthread_join(a, 0);
        pthread_join(b, 0);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("child exited %d\n", WEXITSTATUS(status));
    return 0;
}
