/* lockorder_rwlock.c: a thread takes a rwlock for writing and then a
 * mutex; later it takes the mutex and then the rwlock for reading. A reader
 * can block on a writer, so this is a lock-order inversion too.
 * expect-lockorder: lockorder_rwlock.c:21 / lockorder_rwlock.c:22 */
#include <pthread.h>
#include <stdio.h>

pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
int table, log_lines;

int main(void)
{
    pthread_rwlock_wrlock(&table_lock);
    pthread_mutex_lock(&log_lock);
    table = 1;
    log_lines++;
    pthread_mutex_unlock(&log_lock);
    pthread_rwlock_unlock(&table_lock);

    pthread_mutex_lock(&log_lock);
    pthread_rwlock_rdlock(&table_lock);
    log_lines += table;
    pthread_rwlock_unlock(&table_lock);
    pthread_mutex_unlock(&log_lock);
    printf("%d\n", log_lines);
    return 0;
}
