/* create_join_chain.c: three workers run one after another, each created
 * after the previous one was joined, all updating the same global without a
 * lock. Create and join order them. Race-free. */
#include <pthread.h>
#include <stdio.h>

long total;

static void *worker(void *arg)
{
    total = total * 10 + (long)arg;
    return NULL;
}

int main(void)
{
    for (long i = 1; i <= 3; i++) {
        pthread_t t;
        pthread_create(&t, NULL, worker, (void *)i);
        pthread_join(t, NULL);
    }
    printf("total %ld\n", total);
    return 0;
}
