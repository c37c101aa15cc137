/* deep_call_chain.c: the racing store sits three calls deep on both sides
 * (worker -> level1 -> level2 -> level3 and main -> level1 -> ...), so the
 * reports' stacks must show every frame, not only the innermost one.
 * expect-race: write 4 deep_call_chain.c:13 / write 4 deep_call_chain.c:13 */
#include <pthread.h>
#include <stdio.h>

int depth_reached;

__attribute__((noinline)) static void level3(int n)
{
    __asm__ volatile("" ::: "memory");
    depth_reached = n;
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void level2(int n)
{
    level3(n + 1);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void level1(int n)
{
    level2(n + 1);
    __asm__ volatile("" ::: "memory");
}

static void *worker(void *arg)
{
    (void)arg;
    level1(10);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    level1(20);
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
