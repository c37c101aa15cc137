/* Two threads increment one counter without a lock: `counter++` compiles
 * to one `add [mem], 1` at -O1, a read-modify-write that Helgrind reports
 * as a racy read and a racy write. Prints 1 (the counter moved). */
#include <pthread.h>
#include <stdio.h>

int counter;

static void *worker(void *arg) {
    counter++;
    return arg;
}

int main(void) {
    pthread_t a, b;
    pthread_create(&a, 0, worker, 0);
    pthread_create(&b, 0, worker, 0);
    pthread_join(a, 0);
    pthread_join(b, 0);
    printf("%d\n", counter > 0);
    return 0;
}
