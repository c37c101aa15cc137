/* struct_same_field.c: two threads write the same 2-byte field of a heap
 * struct; the neighbouring fields are written by one thread only.
 * expect-race: write 2 struct_same_field.c:17 / write 2 struct_same_field.c:27 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct record {
    char tag;
    short count;
    int id;
};

static void *worker(void *arg)
{
    struct record *r = arg;
    r->count = 3;
    return NULL;
}

int main(void)
{
    pthread_t t;
    struct record *r = calloc(1, sizeof *r);
    pthread_create(&t, NULL, worker, r);
    r->tag = 'x';
    r->count = 4;
    r->id = 9;
    pthread_join(t, NULL);
    free(r);
    printf("done\n");
    return 0;
}
