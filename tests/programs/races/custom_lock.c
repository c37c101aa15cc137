/* custom_lock.c: two threads bump a counter under a lock library of the
 * program's own, a pipe holding one token: my_lock reads the token
 * (blocking while the other thread has it), my_unlock writes it back.
 * hbgrind sees no synchronisation in read(2) and write(2); the model file
 * says my_lock and my_unlock are a lock. ThreadSanitizer orders a pipe's
 * write before the read that gets its byte, so it sees the same.
 * hbgrind-options: --lock-model=custom_lock.model */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

struct my_lock {
    int fds[2];
};

__attribute__((noipa)) void my_lock_init(struct my_lock *l)
{
    char token = 0;
    if (pipe(l->fds) != 0 || write(l->fds[1], &token, 1) != 1)
        _exit(2);
}

__attribute__((noipa)) void my_lock(struct my_lock *l)
{
    char token;
    while (read(l->fds[0], &token, 1) != 1) {
    }
}

__attribute__((noipa)) void my_unlock(struct my_lock *l)
{
    char token = 0;
    if (write(l->fds[1], &token, 1) != 1)
        _exit(2);
}

static struct my_lock lock;
static long counter;

static void *worker(void *arg)
{
    for (int i = 0; i < 200; i++) {
        my_lock(&lock);
        counter++;
        my_unlock(&lock);
    }
    return arg;
}

int main(void)
{
    pthread_t a, b;
    my_lock_init(&lock);
    pthread_create(&a, NULL, worker, NULL);
    pthread_create(&b, NULL, worker, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("%ld\n", counter);
    return 0;
}
