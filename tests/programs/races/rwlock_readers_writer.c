/* rwlock_readers_writer.c: two readers read a table under rdlock while a
 * writer updates it under wrlock. Race-free. */
#include <pthread.h>
#include <stdio.h>

pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
int table[4];

static void *reader(void *arg)
{
    long seen = 0;
    (void)arg;
    for (int i = 0; i < 50; i++) {
        pthread_rwlock_rdlock(&lock);
        seen += table[0] + table[3];
        pthread_rwlock_unlock(&lock);
    }
    return (void *)seen;
}

int main(void)
{
    pthread_t r1, r2;
    pthread_create(&r1, NULL, reader, NULL);
    pthread_create(&r2, NULL, reader, NULL);
    for (int i = 0; i < 50; i++) {
        pthread_rwlock_wrlock(&lock);
        table[i % 4] = i;
        pthread_rwlock_unlock(&lock);
    }
    pthread_join(r1, NULL);
    pthread_join(r2, NULL);
    printf("%d %d %d %d\n", table[0], table[1], table[2], table[3]);
    return 0;
}
