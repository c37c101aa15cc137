/* tests/programs/tail_call_lock.c: lock wrappers that tail-jump into
 * pthread (as QEMU's qemu_rec_mutex_lock_impl -> qemu_mutex_lock_impl ->
 * pthread_mutex_lock, glib's g_rec_mutex_lock), modelled with
 * --lock-model=tail_call_lock.model and built with
 * -foptimize-sibling-calls: the wrapper's hooked call and pthread's share
 * one return, and each hook's exit must take effect. Two threads update
 * `counter` under the lock: no report. With the argument "racy" the
 * second thread skips the lock: one race, the first thread holding it. */
#include <pthread.h>
#include <stdio.h>

typedef struct {
    pthread_mutex_t m;
} app_lock;

__attribute__((noinline)) int app_lock_acquire(app_lock *l)
{
    return pthread_mutex_lock(&l->m); /* compiled as `jmp pthread_mutex_lock` */
}

__attribute__((noinline)) int app_lock_release(app_lock *l)
{
    return pthread_mutex_unlock(&l->m);
}

static app_lock lock = {PTHREAD_MUTEX_INITIALIZER};
static long counter;

static void *worker(void *arg)
{
    int locked = arg == NULL;
    for (int i = 0; i < 1000; i++) {
        if (locked)
            app_lock_acquire(&lock);
        counter++;
        if (locked)
            app_lock_release(&lock);
    }
    return arg;
}

int main(int argc, char **argv)
{
    pthread_t a, b;
    pthread_create(&a, NULL, worker, NULL);
    pthread_create(&b, NULL, worker, argc > 1 ? argv[1] : NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("done\n");
    return 0;
}
