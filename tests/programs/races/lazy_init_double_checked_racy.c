/* lazy_init_double_checked_racy.c: the program's own lazy initialisation,
 * double-checked with plain accesses: a thread reads the pointer without
 * the lock, and if it is set uses the object. The initialising thread
 * writes the object and the pointer under the lock, but the reader never
 * takes it: the pointer and the object's field both race (C gives plain
 * loads and stores no order; glibc's own lazy data are libc_lazy_init.c).
 * expect-race: write 8 lazy_init_double_checked_racy.c:33 / read 8 lazy_init_double_checked_racy.c:27
 * expect-race: write 4 lazy_init_double_checked_racy.c:32 / read 4 lazy_init_double_checked_racy.c:46
 * ThreadSanitizer gives the field's race against malloc's write of the
 * block (the later write of the field shares its shadow cell):
 * tsan-expect: race write 8 lazy_init_double_checked_racy.c:33 / read 8 lazy_init_double_checked_racy.c:27
 * tsan-expect: race write 8 lazy_init_double_checked_racy.c:31 / read 4 lazy_init_double_checked_racy.c:46 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct table {
    int x;
};

pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
struct table *instance;

static struct table *get(void)
{
    struct table *t = instance;
    if (t == NULL) {
        pthread_mutex_lock(&lock);
        if (instance == NULL) {
            struct table *n = malloc(sizeof *n);
            n->x = 42;
            instance = n;
        }
        t = instance;
        pthread_mutex_unlock(&lock);
    }
    return t;
}

static void *worker(void *arg)
{
    (void)arg;
    nanosleep(&(struct timespec){0, 50000000}, NULL);
    int *x = &get()->x;
    return (void *)(long)*x;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    get();
    void *v;
    pthread_join(t, &v);
    printf("%ld\n", (long)v);
    return 0;
}
