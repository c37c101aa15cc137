/* libc_file_shared_racy.c: the shared-FILE program of libc_file_shared.c
 * with a real race of the program's own beside it: both threads record
 * themselves as the last writer without a lock. The FILE's internals stay
 * quiet; the program's variable does not.
 * expect-race: write 4 libc_file_shared_racy.c:17 / write 4 libc_file_shared_racy.c:17 */
#include <pthread.h>
#include <stdio.h>

static FILE *out;
static int last_writer;

static void *writer(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < 200; i++)
        fprintf(out, "thread %ld line %d\n", id, i);
    last_writer = (int)id;
    return NULL;
}

int main(void)
{
    out = fopen("/dev/null", "w");
    if (!out)
        return 1;
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, writer, (void *)i);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    fclose(out);
    printf("%d\n", last_writer == 0 || last_writer == 1);
    return 0;
}
