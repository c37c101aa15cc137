/* mutex_different_locks.c: each thread writes the same global under its own
 * mutex; two different locks do not order the accesses.
 * expect-race: write 4 mutex_different_locks.c:15 / write 4 mutex_different_locks.c:25 */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
int shared;

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock_a);
    shared = 1;
    pthread_mutex_unlock(&lock_a);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_mutex_lock(&lock_b);
    shared = 2;
    pthread_mutex_unlock(&lock_b);
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
