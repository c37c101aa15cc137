/* lockorder_trylock_no_cycle.c: a then b with lock, then b then a where a is
 * taken with pthread_mutex_trylock. A trylock cannot deadlock (it fails
 * instead of blocking), so the b-then-a edge closes no potential deadlock:
 * no lock-order report. (Helgrind records trylock edges and reports it;
 * TSan does not.) */
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
    if (pthread_mutex_trylock(&a) == 0)
        pthread_mutex_unlock(&a);
    pthread_mutex_unlock(&b);
    printf("done\n");
    return 0;
}
