/* custom_lock_operands.c: custom_lock.c's pipe lock, behind two wrappers
 * that name the lock indirectly: handle_lock(h) locks the lock h points to
 * (`*(arg0 + 8)` in the model), big_lock() the global the_big_lock (`&the_big_lock`).
 * Two threads update one counter under each; nothing races.
 * hbgrind-options: --lock-model=custom_lock_operands.model */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

struct my_lock {
    int fds[2];
};

struct handle {
    int id;
    struct my_lock *lock;
};

static void pipe_lock_init(struct my_lock *l)
{
    char token = 0;
    if (pipe(l->fds) != 0 || write(l->fds[1], &token, 1) != 1)
        _exit(2);
}

static inline void pipe_lock(struct my_lock *l)
{
    char token;
    while (read(l->fds[0], &token, 1) != 1) {
    }
}

static inline void pipe_unlock(struct my_lock *l)
{
    char token = 0;
    if (write(l->fds[1], &token, 1) != 1)
        _exit(2);
}

static struct my_lock the_big_lock;
static struct my_lock small_lock;
static struct handle handle = {1, &small_lock};
static long small_counter, big_counter;

__attribute__((noipa)) void handle_lock(struct handle *h) { pipe_lock(h->lock); }
__attribute__((noipa)) void handle_unlock(struct handle *h) { pipe_unlock(h->lock); }
__attribute__((noipa)) void big_lock(void) { pipe_lock(&the_big_lock); }
__attribute__((noipa)) void big_unlock(void) { pipe_unlock(&the_big_lock); }

static void *worker(void *arg)
{
    for (int i = 0; i < 100; i++) {
        handle_lock(&handle);
        small_counter++;
        handle_unlock(&handle);
        big_lock();
        big_counter++;
        big_unlock();
    }
    return arg;
}

int main(void)
{
    pthread_t a, b;
    pipe_lock_init(&the_big_lock);
    pipe_lock_init(&small_lock);
    pthread_create(&a, NULL, worker, NULL);
    pthread_create(&b, NULL, worker, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("%ld %ld\n", small_counter, big_counter);
    return 0;
}
