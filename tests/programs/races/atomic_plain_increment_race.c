/* atomic_plain_increment_race.c: workers increment a counter with
 * __atomic_fetch_add (LOCK XADD), and main bumps the same counter with a
 * plain `hits++`, one `add [hits], 1` without LOCK. The counter is an
 * atomic variable to hbgrind's atomics model, but a read-modify-write
 * without LOCK is not an atomic access: it races with the workers'
 * updates. (Compiled as a separate load and store, the same increment
 * would be two atomic accesses to hbgrind: README, limits.) ThreadSanitizer
 * sees the increment's load first.
 * expect-race: write 4 atomic_plain_increment_race.c:20 / write 4 atomic_plain_increment_race.c:30
 * tsan-expect: race write 4 atomic_plain_increment_race.c:20 / read 4 atomic_plain_increment_race.c:30 */
#include <pthread.h>
#include <stdio.h>

unsigned hits;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++)
        __atomic_fetch_add(&hits, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 100; i++) {
        hits++;
        __asm__ volatile("" ::: "memory"); /* one `add [hits], 1` each */
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("done\n");
    return 0;
}
