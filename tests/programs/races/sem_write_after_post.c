/* sem_write_after_post.c: the producer posts first and writes afterwards;
 * the consumer reads after its sem_wait. The post orders only what came
 * before it.
 * expect-race: write 4 sem_write_after_post.c:17 / read 4 sem_write_after_post.c:27 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

sem_t ready;
int value;
volatile int sink;

static void *producer(void *arg)
{
    (void)arg;
    sem_post(&ready);
    value = 4;
    return NULL;
}

int main(void)
{
    pthread_t t;
    sem_init(&ready, 0, 0);
    pthread_create(&t, NULL, producer, NULL);
    sem_wait(&ready);
    sink = value;
    pthread_join(t, NULL);
    sem_destroy(&ready);
    printf("done\n");
    return 0;
}
