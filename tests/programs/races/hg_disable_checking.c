/* hg_disable_checking.c: two threads bump a statistics counter without a
 * lock, but main first calls VALGRIND_HG_DISABLE_CHECKING on it, so a tool
 * that honours Helgrind's client requests reports nothing.
 * tsan-expect: race write 8 hg_disable_checking.c:15 / write 8 hg_disable_checking.c:24
 *   (TSan ignores Valgrind client requests.) */
#include <pthread.h>
#include <stdio.h>
#include <valgrind/helgrind.h>

long statistics;

static void *worker(void *arg)
{
    (void)arg;
    statistics = 1;
    return NULL;
}

int main(void)
{
    pthread_t t;
    VALGRIND_HG_DISABLE_CHECKING(&statistics, sizeof statistics);
    pthread_create(&t, NULL, worker, NULL);
    statistics = 2;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
