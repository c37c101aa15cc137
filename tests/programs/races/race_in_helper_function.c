/* race_in_helper_function.c: both threads call the same helper, which
 * stores to a global; both sides of the race are the same line, reached
 * from different callers. The innermost frame is the helper's.
 * expect-race: write 4 race_in_helper_function.c:12 / write 4 race_in_helper_function.c:12 */
#include <pthread.h>
#include <stdio.h>

int owner;

__attribute__((noinline)) static void claim(int who)
{
    owner = who;
}

static void *worker(void *arg)
{
    (void)arg;
    claim(1);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    claim(2);
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
