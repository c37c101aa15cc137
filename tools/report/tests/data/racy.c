#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
int counter;
pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
int *heap;
static void *worker(void *arg) {
    (void)arg;
    counter++;
    heap[2] = 5;
    pthread_mutex_lock(&b);
    pthread_mutex_lock(&a);
    pthread_mutex_unlock(&a);
    pthread_mutex_unlock(&b);
    return NULL;
}
static void *stackuser(void *arg) { int *p = arg; *p = 3; return NULL; }
int main(void) {
    pthread_t t;
    heap = malloc(64);
    pthread_mutex_lock(&a);
    pthread_mutex_lock(&b);
    pthread_mutex_unlock(&b);
    pthread_mutex_unlock(&a);
    pthread_create(&t, NULL, worker, NULL);
    pthread_mutex_lock(&a);
    counter++;
    pthread_mutex_unlock(&a);
    heap[2] = 6;
    pthread_join(t, NULL);
    int local = 0;
    pthread_create(&t, NULL, stackuser, &local);
    local = 4;
    pthread_join(t, NULL);
    pthread_mutex_unlock(&a);
    printf("%d %d\n", counter, local);
    return 0;
}
