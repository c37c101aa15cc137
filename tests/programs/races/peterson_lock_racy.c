/* peterson_lock_racy.c: Peterson's lock of peterson_lock.c guards the
 * workers' counter, but main reads the counter while they run, without
 * taking the lock (it is neither of the lock's two parties).
 * expect-race: write 8 peterson_lock_racy.c:33 / read 8 peterson_lock_racy.c:44 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int interested[2];
static atomic_int turn;
static long counter;
volatile long sink;

static void lock(int me)
{
    int other = 1 - me;
    atomic_store(&interested[me], 1);
    atomic_store(&turn, other);
    while (atomic_load(&interested[other]) && atomic_load(&turn) == other)
        ;
}

static void unlock(int me)
{
    atomic_store(&interested[me], 0);
}

static void *worker(void *arg)
{
    int me = (int)(long)arg;
    for (int i = 0; i < 2000; i++) {
        lock(me);
        counter++;
        unlock(me);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    sink = counter;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("counter %ld\n", counter);
    return 0;
}
