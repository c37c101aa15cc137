/* omp_taskwait_depend.c: `taskwait depend(in: x)` waits for the task
 * that writes x, not for its unrelated sibling: the read of x after it is
 * ordered, the read of y only after the full taskwait.
 * (DataRaceBench's taskdep4 kernels, OpenMP 5.0.) Race-free. */
#include <omp.h>
#include <stdio.h>

static void run(void)
{
    int x = 0, y = 2;
#pragma omp task depend(inout : x) shared(x)
    x++;
#pragma omp task shared(y)
    y--;
#pragma omp taskwait depend(in : x)
    printf("x=%d\n", x);
#pragma omp taskwait
    printf("y=%d\n", y);
}

int main(void)
{
#pragma omp parallel num_threads(2)
#pragma omp single
    run();
    return 0;
}
