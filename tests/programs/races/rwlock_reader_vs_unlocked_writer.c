/* rwlock_reader_vs_unlocked_writer.c: a reader reads under rdlock while main
 * writes the same global without taking the lock.
 * expect-race: read 4 rwlock_reader_vs_unlocked_writer.c:15 / write 4 rwlock_reader_vs_unlocked_writer.c:24 */
#include <pthread.h>
#include <stdio.h>

pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
int shared;
volatile int sink;

static void *reader(void *arg)
{
    (void)arg;
    pthread_rwlock_rdlock(&lock);
    sink = shared;
    pthread_rwlock_unlock(&lock);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    shared = 3;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
