/* pthread_once_init.c: two threads call pthread_once with an initialiser
 * that fills a table, then read the table. pthread_once orders the
 * initialiser before every return from pthread_once. Race-free. */
#include <pthread.h>
#include <stdio.h>

pthread_once_t once = PTHREAD_ONCE_INIT;
int table[16];

static void init_table(void)
{
    for (int i = 0; i < 16; i++)
        table[i] = i * 3;
}

static void *worker(void *arg)
{
    (void)arg;
    pthread_once(&once, init_table);
    long sum = 0;
    for (int i = 0; i < 16; i++)
        sum += table[i];
    return (void *)sum;
}

int main(void)
{
    pthread_t t1, t2;
    void *s1, *s2;
    pthread_create(&t1, NULL, worker, NULL);
    pthread_create(&t2, NULL, worker, NULL);
    pthread_join(t1, &s1);
    pthread_join(t2, &s2);
    printf("%ld %ld\n", (long)s1, (long)s2);
    return 0;
}
