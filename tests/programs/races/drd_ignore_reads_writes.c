/* drd_ignore_reads_writes.c: a worker and main both update a statistics
 * word without a lock, main inside drd.h's
 * ANNOTATE_IGNORE_READS_AND_WRITES_BEGIN/END; a second word updated the
 * same way outside the ignored region still races.
 * expect-race: write 8 drd_ignore_reads_writes.c:20 / write 8 drd_ignore_reads_writes.c:32
 * tsan-expect: race write 8 drd_ignore_reads_writes.c:19 / write 8 drd_ignore_reads_writes.c:30
 * tsan-expect: race write 8 drd_ignore_reads_writes.c:20 / write 8 drd_ignore_reads_writes.c:32
 *   (TSan ignores Valgrind client requests.) */
#include <pthread.h>
#include <stdio.h>
#include <valgrind/drd.h>

long ignored_stat;
long checked_stat;

static void *worker(void *arg)
{
    (void)arg;
    ignored_stat = 1;
    checked_stat = 1;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    ANNOTATE_IGNORE_READS_AND_WRITES_BEGIN();
    __asm__ volatile("" ::: "memory");
    ignored_stat = 2;
    ANNOTATE_IGNORE_READS_AND_WRITES_END();
    checked_stat = 2;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
