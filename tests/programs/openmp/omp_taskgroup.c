/* omp_taskgroup.c: tasks that create tasks inside a taskgroup; the end of
 * the taskgroup waits for all of them, descendants included, before the
 * creator sums their results. Race-free. */
#include <omp.h>
#include <stdio.h>

int leaves[32];

static void spawn(int lo, int hi)
{
    if (hi - lo == 1) {
        leaves[lo] = lo * 2;
        return;
    }
    int mid = (lo + hi) / 2;
#pragma omp task
    spawn(lo, mid);
#pragma omp task
    spawn(mid, hi);
}

int main(void)
{
    int sum = 0;
#pragma omp parallel num_threads(2)
#pragma omp single
    {
#pragma omp taskgroup
        spawn(0, 32);
        for (int i = 0; i < 32; i++)
            sum += leaves[i];
    }
    printf("%d\n", sum);
    return 0;
}
