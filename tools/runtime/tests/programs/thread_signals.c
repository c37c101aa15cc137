/* Signals sent to one thread (pthread_kill, pthread_cancel) run their
 * handler in that thread: the handler reads thread-local data. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
static __thread int mine;
static volatile int got[3];
static void on_usr1(int s) { (void)s; got[mine] = 1; }
static volatile int stop;
static void *worker(void *a) {
    mine = (int)(long)a;
    while (!stop) usleep(100);
    return 0;
}
static void *cancelled(void *a) { (void)a; for (;;) pause(); return 0; }
int main(void) {
    signal(SIGUSR1, on_usr1);
    mine = 0;
    pthread_t t[2];
    for (long i = 1; i <= 2; i++) pthread_create(&t[i - 1], 0, worker, (void *)i);
    usleep(20000);
    pthread_kill(t[1], SIGUSR1);   /* only thread 2's handler run must mark got[2] */
    usleep(20000);
    stop = 1;
    for (int i = 0; i < 2; i++) pthread_join(t[i], 0);
    printf("got %d %d %d\n", got[0], got[1], got[2]);
    pthread_t c;
    pthread_create(&c, 0, cancelled, 0);
    usleep(10000);
    pthread_cancel(c);
    void *r;
    pthread_join(c, &r);
    printf("cancelled %d\n", r == PTHREAD_CANCELED);
    return 0;
}
