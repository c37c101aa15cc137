/* struct_adjacent_fields.c: two threads write different, adjacent fields of
 * one struct (4 bytes each, in the same 8-byte word). Race-free: accesses
 * to different bytes never race. */
#include <pthread.h>
#include <stdio.h>

struct pair {
    int a;
    int b;
} pair;

static void *worker(void *arg)
{
    (void)arg;
    pair.a = 1;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pair.b = 2;
    pthread_join(t, NULL);
    printf("%d %d\n", pair.a, pair.b);
    return 0;
}
