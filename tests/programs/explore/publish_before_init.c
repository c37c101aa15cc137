/* tests/programs/explore/publish_before_init.c (issue 12): an object
 * published before it is initialised. The builder makes the object
 * visible under the lock with its divisor still 0, and fills the divisor
 * in a second critical section later; a user that takes the object in
 * between divides by zero and dies of SIGFPE. Every access is locked: no
 * data race, only the crash, and only in some schedules. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct scale {
    int divisor;
};

static struct scale *shared;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static __thread volatile unsigned long sink;
static volatile int result;

/* Each loop iteration is one block: `n` blocks of the thread's own work. */
static void compute(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        sink += i;
}

static void *builder(void *arg)
{
    static struct scale s;
    compute(300);
    pthread_mutex_lock(&m);
    shared = &s; /* published too early */
    pthread_mutex_unlock(&m);
    compute(5000);
    pthread_mutex_lock(&m);
    s.divisor = 7;
    pthread_mutex_unlock(&m);
    return arg;
}

static void *user(void *arg)
{
    compute(300);
    for (;;) {
        pthread_mutex_lock(&m);
        struct scale *s = shared;
        int d = s ? s->divisor : 0;
        pthread_mutex_unlock(&m);
        if (s) {
            result = 700 / d;
            return arg;
        }
        compute(1000);
    }
}

int main(void)
{
    pthread_t b, u;
    pthread_create(&b, NULL, builder, NULL);
    pthread_create(&u, NULL, user, NULL);
    pthread_join(b, NULL);
    pthread_join(u, NULL);
    printf("%d\n", result);
    return 0;
}
