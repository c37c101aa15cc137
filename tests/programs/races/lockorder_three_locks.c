/* lockorder_three_locks.c: one thread establishes a before b and b before c,
 * then takes c and, holding it, a: a cycle of three locks, reported where it
 * closes.
 * expect-lockorder: lockorder_three_locks.c:24 / lockorder_three_locks.c:25 */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t c = PTHREAD_MUTEX_INITIALIZER;

static void nested(pthread_mutex_t *outer, pthread_mutex_t *inner)
{
    pthread_mutex_lock(outer);
    pthread_mutex_lock(inner);
    pthread_mutex_unlock(inner);
    pthread_mutex_unlock(outer);
}

int main(void)
{
    nested(&a, &b);
    nested(&b, &c);
    pthread_mutex_lock(&c);
    pthread_mutex_lock(&a);
    pthread_mutex_unlock(&a);
    pthread_mutex_unlock(&c);
    printf("done\n");
    return 0;
}
