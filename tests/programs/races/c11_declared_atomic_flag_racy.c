/* c11_declared_atomic_flag_racy.c: as c11_declared_atomic_flag.c, but the
 * producer writes `extra` after its release store, so main's read of it
 * after the acquire load is not ordered after the write (the flag itself,
 * declared `_Atomic`, does not race).
 * expect-race: write 4 c11_declared_atomic_flag_racy.c:19 / read 4 c11_declared_atomic_flag_racy.c:31 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

int data;
int extra;
_Atomic int ready;

static void *producer(void *arg)
{
    data = 42;
    atomic_store_explicit(&ready, 1, memory_order_release);
    extra = 7;
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    int seen = 0;
    if (atomic_load_explicit(&ready, memory_order_acquire))
        seen = data == 42 && extra == 7;
    pthread_join(t, NULL);
    printf("%s\n", seen ? "seen" : "late");
    return 0;
}
