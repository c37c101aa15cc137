/* hg_enable_checking.c: main turns checking of a counter off with
 * VALGRIND_HG_DISABLE_CHECKING and on again with VALGRIND_HG_ENABLE_CHECKING
 * before the worker starts, so the unlocked writes that follow are reported
 * as by any tool.
 * expect-race: write 8 hg_enable_checking.c:15 / write 8 hg_enable_checking.c:25 */
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
    VALGRIND_HG_ENABLE_CHECKING(&statistics, sizeof statistics);
    pthread_create(&t, NULL, worker, NULL);
    statistics = 2;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
