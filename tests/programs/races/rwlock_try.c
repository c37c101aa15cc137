/* rwlock_try.c: a reader uses pthread_rwlock_tryrdlock and a writer
 * pthread_rwlock_trywrlock, both retrying until they succeed. Race-free. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
int value;
volatile int sink;

static void *reader(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++) {
        while (pthread_rwlock_tryrdlock(&lock) != 0)
            sched_yield();
        sink = value;
        pthread_rwlock_unlock(&lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    for (int i = 0; i < 50; i++) {
        while (pthread_rwlock_trywrlock(&lock) != 0)
            sched_yield();
        value = i;
        pthread_rwlock_unlock(&lock);
    }
    pthread_join(t, NULL);
    printf("value %d\n", value);
    return 0;
}
