/* omp_taskloop_racy.c: the tasks of a taskloop all store the index they
 * reach in one shared variable: they race with each other, even when
 * one thread runs them all. The same loop over independent elements,
 * and the read of everything after the taskloop (which waits for its
 * tasks), are race-free.
 * expect-race: write 4 omp_taskloop_racy.c:22 / write 4 omp_taskloop_racy.c:22 */
#include <omp.h>
#include <stdio.h>

#define N 64
int b[N], reached;

int main(void)
{
    int sum = 0;
#pragma omp parallel num_threads(2)
#pragma omp single
    {
#pragma omp taskloop num_tasks(2)
        for (int i = 0; i < N; i++) {
            b[i] = 2 * i;
            reached = i;
        }
        for (int i = 0; i < N; i++)
            sum += b[i];
        sum += reached;
    }
    printf("%d\n", sum > 0);
    return 0;
}
