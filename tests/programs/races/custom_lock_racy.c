/* custom_lock_racy.c: custom_lock.c's pipe lock (custom_lock.model), but
 * main writes the shared global without taking it: a lock held by one side
 * only orders nothing, and the model must not hide that.
 * hbgrind-options: --lock-model=custom_lock.model
 * expect-race: write 4 custom_lock_racy.c:42 / write 4 custom_lock_racy.c:52 */
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
int shared;

static void *worker(void *arg)
{
    (void)arg;
    my_lock(&lock);
    shared = 1;
    my_unlock(&lock);
    return NULL;
}

int main(void)
{
    pthread_t t;
    my_lock_init(&lock);
    pthread_create(&t, NULL, worker, NULL);
    shared = 2;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
