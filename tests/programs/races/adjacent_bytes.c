/* adjacent_bytes.c: three threads each write their own byte of one char
 * array (bytes 0, 1 and 2 of the same word). Race-free. */
#include <pthread.h>
#include <stdio.h>

char flags[8];

static void *worker(void *arg)
{
    long i = (long)arg;
    flags[i] = (char)('a' + i);
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, worker, (void *)1L);
    pthread_create(&t2, NULL, worker, (void *)2L);
    flags[0] = 'z';
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("%c%c%c\n", flags[0], flags[1], flags[2]);
    return 0;
}
