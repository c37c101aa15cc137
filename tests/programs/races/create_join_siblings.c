/* create_join_siblings.c: main creates two workers before joining either;
 * the siblings are unordered, so their writes to one global race.
 * expect-race: write 8 create_join_siblings.c:12 / write 8 create_join_siblings.c:19 */
#include <pthread.h>
#include <stdio.h>

long last_writer;

static void *first(void *arg)
{
    (void)arg;
    last_writer = 1;
    return NULL;
}

static void *second(void *arg)
{
    (void)arg;
    last_writer = 2;
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, first, NULL);
    pthread_create(&t2, NULL, second, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("done\n");
    return 0;
}
