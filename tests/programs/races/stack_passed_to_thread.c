/* stack_passed_to_thread.c: main passes an array on its own stack to a
 * worker, which writes it while main reads it before the join.
 * expect-race: write 4 stack_passed_to_thread.c:12 / read 4 stack_passed_to_thread.c:21 */
#include <pthread.h>
#include <stdio.h>

volatile int sink;

static void *worker(void *arg)
{
    int *slots = arg;
    slots[2] = 7;
    return NULL;
}

int main(void)
{
    pthread_t t;
    int slots[4] = {0, 0, 0, 0};
    pthread_create(&t, NULL, worker, slots);
    sink = slots[2];
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
