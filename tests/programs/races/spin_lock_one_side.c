/* spin_lock_one_side.c: the worker reads a global under a spin lock, main
 * writes it without the lock.
 * expect-race: read 8 spin_lock_one_side.c:15 / write 8 spin_lock_one_side.c:25 */
#include <pthread.h>
#include <stdio.h>

pthread_spinlock_t lock;
long shared;
volatile long sink;

static void *worker(void *arg)
{
    (void)arg;
    pthread_spin_lock(&lock);
    sink = shared;
    pthread_spin_unlock(&lock);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_spin_init(&lock, PTHREAD_PROCESS_PRIVATE);
    pthread_create(&t, NULL, worker, NULL);
    shared = 8;
    pthread_join(t, NULL);
    pthread_spin_destroy(&lock);
    printf("done\n");
    return 0;
}
