/* Threads under the big lock: mutexes, a condition variable passing turns,
 * join with return values; output and status as natively. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static long counter, turn;
static void *worker(void *arg) {
    long id = (long)arg;
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&m);
        counter += id;
        pthread_mutex_unlock(&m);
    }
    pthread_mutex_lock(&m);
    while (turn != id) pthread_cond_wait(&c, &m);
    printf("thread %ld done\n", id);
    turn++;
    pthread_cond_broadcast(&c);
    pthread_mutex_unlock(&m);
    return (void *)(id * 10);
}
int main(void) {
    pthread_t t[4];
    for (long i = 0; i < 4; i++) pthread_create(&t[i], 0, worker, (void *)i);
    long sum = 0;
    for (int i = 0; i < 4; i++) { void *r; pthread_join(t[i], &r); sum += (long)r; }
    printf("counter %ld sum %ld\n", counter, sum);
    return 0;
}
