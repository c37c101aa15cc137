/* omp_critical_names_racy.c: one counter updated (by one helper function)
 * under two differently named critical sections: each name is its own
 * lock, so the two updates do not exclude each other.
 * expect-race: read 8 omp_critical_names_racy.c:13 / write 8 omp_critical_names_racy.c:13
 * expect-race: write 8 omp_critical_names_racy.c:13 / write 8 omp_critical_names_racy.c:13 */
#include <omp.h>
#include <stdio.h>

long counter;

__attribute__((noinline)) static void bump(long by)
{
    counter += by;
}

int main(void)
{
#pragma omp parallel num_threads(2)
    {
        if (omp_get_thread_num() == 0) {
#pragma omp critical(left)
            bump(1);
        } else {
#pragma omp critical(right)
            bump(2);
        }
    }
    printf("%ld\n", counter);
    return 0;
}
