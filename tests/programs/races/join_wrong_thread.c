/* join_wrong_thread.c: two workers write two globals; main joins only the
 * first before reading both. The join orders the first worker's write, not
 * the second's.
 * expect-race: write 4 join_wrong_thread.c:21 / read 4 join_wrong_thread.c:32 */
#include <pthread.h>
#include <stdio.h>

int from_first, from_second;
volatile int sink;

static void *first(void *arg)
{
    (void)arg;
    from_first = 1;
    return NULL;
}

static void *second(void *arg)
{
    (void)arg;
    from_second = 2;
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, first, NULL);
    pthread_create(&t2, NULL, second, NULL);
    pthread_join(t1, NULL);
    sink = from_first;
    sink = from_second;
    pthread_join(t2, NULL);
    printf("done\n");
    return 0;
}
