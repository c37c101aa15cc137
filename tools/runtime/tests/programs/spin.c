/* Two threads that wait for each other by spinning on plain memory: with
 * one thread at a time, only preemption of the spinning thread ends it. */
#include <pthread.h>
#include <stdio.h>
static volatile int flag, ack;
static void *setter(void *a) { (void)a; flag = 1; while (!ack) {} return 0; }
int main(void) {
    pthread_t t;
    pthread_create(&t, 0, setter, 0);
    while (!flag) {}
    ack = 1;
    pthread_join(t, 0);
    printf("spun\n");
    return 0;
}
