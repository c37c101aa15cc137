/* omp_critical_mixed_racy.c: a counter updated inside a critical section
 * by both threads, and read outside it by thread 1 right after its own
 * update: thread 0's update (made later: it sleeps first) is not ordered
 * after that read, whichever thread takes the lock first.
 * expect-race: write 8 omp_critical_mixed_racy.c:20 / read 8 omp_critical_mixed_racy.c:22 */
#include <omp.h>
#include <stdio.h>
#include <time.h>

long counter;
long peek;

int main(void)
{
#pragma omp parallel num_threads(2)
    {
        if (omp_get_thread_num() == 0)
            nanosleep(&(struct timespec){0, 20000000}, NULL);
#pragma omp critical
        counter += 1;
        if (omp_get_thread_num() == 1)
            peek = counter;
    }
    printf("%ld %d\n", counter, peek >= 1);
    return 0;
}
