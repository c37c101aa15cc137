/* work_queue_pool.c: a pool of three workers takes task indices from a
 * mutex/condvar queue and writes each task's result into its own slot of a
 * results array; main reads the results after joining. Race-free. */
#include <pthread.h>
#include <stdio.h>

#define TASKS 30
#define WORKERS 3
pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t more = PTHREAD_COND_INITIALIZER;
int next_task, published, closed;
long results[TASKS];

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (next_task == published && !closed)
            pthread_cond_wait(&more, &lock);
        if (next_task == published) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        int task = next_task++;
        pthread_mutex_unlock(&lock);
        results[task] = (long)task * task;
    }
}

int main(void)
{
    pthread_t pool[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&pool[i], NULL, worker, NULL);
    for (int i = 0; i < TASKS; i++) {
        pthread_mutex_lock(&lock);
        published++;
        pthread_cond_signal(&more);
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    closed = 1;
    pthread_cond_broadcast(&more);
    pthread_mutex_unlock(&lock);
    long sum = 0;
    for (int i = 0; i < WORKERS; i++)
        pthread_join(pool[i], NULL);
    for (int i = 0; i < TASKS; i++)
        sum += results[i];
    printf("sum %ld\n", sum);
    return 0;
}
