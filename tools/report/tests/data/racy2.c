#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
int counter;
pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
int *heap;
static void *worker(void *arg) {
    (void)arg;
    pthread_mutex_lock(&m);
    counter++;
    pthread_mutex_unlock(&m);
    heap[2] = 5;
    return NULL;
}
int main(void) {
    pthread_t t;
    heap = malloc(64);
    pthread_create(&t, NULL, worker, NULL);
    counter++;
    int x = heap[2];
    pthread_join(t, NULL);
    printf("%d %d\n", counter, x);
    return 0;
}
