/* libc_caller_buffer_race.c: libc's own data is not checked, but memory a
 * program hands to libc is: two threads format into the same caller buffer
 * with snprintf (a size of 1: only the terminating NUL is written),
 * unsynchronised. glibc's snprintf writes the buffer from
 * inside libc; the race is reported there, with the caller's line below it.
 * expect-race: write 1 libc_caller_buffer_race.c:17 / write 1 libc_caller_buffer_race.c:25 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static char shared[8];
static volatile int value = 7;

static void *worker(void *arg)
{
    (void)arg;
    snprintf(shared, 1, "%d", value);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    snprintf(shared, 1, "%d", value + 1);
    pthread_join(t, NULL);
    printf("%zu\n", strlen(shared));
    return 0;
}
