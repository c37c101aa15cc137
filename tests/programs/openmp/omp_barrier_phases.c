/* omp_barrier_phases.c: each thread writes its own element, an explicit
 * barrier, then each reads its neighbour's element; a second barrier and
 * the same again with the roles turned. Race-free. */
#include <omp.h>
#include <stdio.h>

int cells[8];
int seen[8];

int main(void)
{
#pragma omp parallel num_threads(2)
    {
        int me = omp_get_thread_num();
        int other = (me + 1) % omp_get_num_threads();
        cells[me] = me + 10;
#pragma omp barrier
        seen[me] = cells[other];
#pragma omp barrier
        cells[other] = seen[me] + 1;
    }
    printf("%d %d %d\n", seen[0], seen[1], cells[0] + cells[1]);
    return 0;
}
