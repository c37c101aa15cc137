/* mutex_one_side.c: the worker writes under a mutex, main writes the same
 * global without taking it. A lock held by one side only orders nothing.
 * expect-race: write 4 mutex_one_side.c:14 / write 4 mutex_one_side.c:23 */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
int shared;

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    shared = 1;
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    shared = 2;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
