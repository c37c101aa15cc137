/* stack_passed_joined.c: main passes an array on its own stack to a worker
 * and reads it only after the join. Race-free. */
#include <pthread.h>
#include <stdio.h>

static void *worker(void *arg)
{
    int *slots = arg;
    for (int i = 0; i < 4; i++)
        slots[i] = i + 10;
    return NULL;
}

int main(void)
{
    pthread_t t;
    int slots[4] = {0, 0, 0, 0};
    pthread_create(&t, NULL, worker, slots);
    pthread_join(t, NULL);
    printf("%d %d %d %d\n", slots[0], slots[1], slots[2], slots[3]);
    return 0;
}
