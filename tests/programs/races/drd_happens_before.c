/* drd_happens_before.c: as annotate_happens_before.c, but with drd.h's
 * ANNOTATE_HAPPENS_BEFORE/AFTER (DRD's own client request codes) and a
 * plain flag declared benign with drd.h's DRD_IGNORE_VAR. The annotations
 * order the data: no race for a tool that honours DRD's client requests.
 * tsan-expect: race write 4 drd_happens_before.c:19 / read 4 drd_happens_before.c:33
 * tsan-expect: race write 4 drd_happens_before.c:21 / read 4 drd_happens_before.c:30
 *   (TSan ignores Valgrind client requests.) */
#include <pthread.h>
#include <stdio.h>
#include <valgrind/drd.h>

volatile int flag;
int data;
volatile int sink;

static void *producer(void *arg)
{
    (void)arg;
    data = 42;
    ANNOTATE_HAPPENS_BEFORE(&flag);
    flag = 1;
    return NULL;
}

int main(void)
{
    pthread_t t;
    DRD_IGNORE_VAR(flag);
    pthread_create(&t, NULL, producer, NULL);
    while (!flag)
        ;
    ANNOTATE_HAPPENS_AFTER(&flag);
    sink = data;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
