/* omp_nested_parallel.c: nested parallel regions (two levels active): each
 * outer thread starts an inner team whose threads write their own cells of
 * the outer thread's row; the outer thread sums its row after the inner
 * region ends, and main reads the sums after the outer one. Race-free. */
#include <omp.h>
#include <stdio.h>

int grid[2][2];
int sums[2];

int main(void)
{
    omp_set_max_active_levels(2);
#pragma omp parallel num_threads(2)
    {
        int row = omp_get_thread_num();
#pragma omp parallel num_threads(2)
        grid[row][omp_get_thread_num()] = row * 10 + omp_get_thread_num() + 1;
        sums[row] = grid[row][0] + grid[row][1];
    }
    printf("%d %d\n", sums[0], sums[1]);
    return 0;
}
