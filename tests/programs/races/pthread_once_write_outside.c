/* pthread_once_write_outside.c: both threads call pthread_once, but one of
 * them also writes the initialised value after its call, outside the once
 * routine, while the other reads it.
 * expect-race: write 4 pthread_once_write_outside.c:21 / read 4 pthread_once_write_outside.c:30 */
#include <pthread.h>
#include <stdio.h>

pthread_once_t once = PTHREAD_ONCE_INIT;
int setting;
volatile int sink;

static void init_setting(void)
{
    setting = 1;
}

static void *worker(void *arg)
{
    (void)arg;
    pthread_once(&once, init_setting);
    setting = 2;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_once(&once, init_setting);
    sink = setting;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
