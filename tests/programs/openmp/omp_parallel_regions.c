/* omp_parallel_regions.c: three parallel regions in a row on the same pool
 * of threads: each thread reads what the other thread wrote in the region
 * before and what main wrote between the regions. The end of a region and
 * the start of the next order them. Race-free. */
#include <omp.h>
#include <stdio.h>

int in[2], out[2];
int between;

int main(void)
{
    for (int round = 0; round < 3; round++) {
#pragma omp parallel num_threads(2)
        {
            int me = omp_get_thread_num();
            out[me] = in[1 - me] + between + 1;
        }
        in[0] = out[0];
        in[1] = out[1];
        between = in[0] + in[1];
    }
    printf("%d\n", between);
    return 0;
}
