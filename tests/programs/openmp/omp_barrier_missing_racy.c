/* omp_barrier_missing_racy.c: as omp_barrier_phases.c without the barrier:
 * thread 1 reads thread 0's element while thread 0 may still write it.
 * expect-race: write 4 omp_barrier_missing_racy.c:15 / read 4 omp_barrier_missing_racy.c:17 */
#include <omp.h>
#include <stdio.h>

int cells[8];
int seen;

int main(void)
{
#pragma omp parallel num_threads(2)
    {
        int me = omp_get_thread_num();
        cells[me] = me + 10;
        if (me == 1)
            seen = cells[0];
    }
    printf("%d\n", seen == 0 || seen == 10);
    return 0;
}
