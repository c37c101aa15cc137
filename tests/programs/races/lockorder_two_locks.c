/* lockorder_two_locks.c: one thread takes lock a then b, releases both, and
 * later takes b then a: a lock-order inversion (a potential deadlock) even
 * though this run cannot deadlock. The label names the acquisition that
 * closes the cycle: where the held lock (b) was taken, and where a is taken
 * while holding it.
 * expect-lockorder: lockorder_two_locks.c:20 / lockorder_two_locks.c:21 */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    pthread_mutex_lock(&a);
    pthread_mutex_lock(&b);
    pthread_mutex_unlock(&b);
    pthread_mutex_unlock(&a);

    pthread_mutex_lock(&b);
    pthread_mutex_lock(&a);
    pthread_mutex_unlock(&a);
    pthread_mutex_unlock(&b);
    printf("done\n");
    return 0;
}
