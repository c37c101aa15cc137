/* hg_clean_memory.c: a worker fills two buffers, then raises a plain flag
 * (declared a benign race: it orders nothing). main waits for the flag,
 * declares the first buffer new with VALGRIND_HG_CLEAN_MEMORY (as a custom
 * allocator does when it hands memory out again) and writes both buffers.
 * Only the second buffer's writes race for a tool that honours Helgrind's
 * client requests.
 * expect-race: write 4 hg_clean_memory.c:23 / write 4 hg_clean_memory.c:37
 * tsan-expect: race write 4 hg_clean_memory.c:22 / write 4 hg_clean_memory.c:36
 * tsan-expect: race write 4 hg_clean_memory.c:23 / write 4 hg_clean_memory.c:37
 * tsan-expect: race write 4 hg_clean_memory.c:24 / read 4 hg_clean_memory.c:33
 *   (TSan ignores Valgrind client requests: the flag and the cleaned buffer race.) */
#include <pthread.h>
#include <stdio.h>
#include <valgrind/helgrind.h>

int reused[16], kept[16];
volatile int flag;

static void *worker(void *arg)
{
    (void)arg;
    reused[5] = 1;
    kept[5] = 1;
    flag = 1;
    return NULL;
}

int main(void)
{
    pthread_t t;
    ANNOTATE_BENIGN_RACE_SIZED(&flag, sizeof flag, "a flag that orders nothing");
    pthread_create(&t, NULL, worker, NULL);
    while (!flag)
        ;
    VALGRIND_HG_CLEAN_MEMORY(reused, sizeof reused);
    reused[5] = 2;
    kept[5] = 2;
    pthread_join(t, NULL);
    printf("done %d %d\n", reused[5], kept[5]);
    return 0;
}
