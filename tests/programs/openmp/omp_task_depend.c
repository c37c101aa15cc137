/* omp_task_depend.c: a chain of tasks ordered only by depend clauses: a
 * producer task (out), two consumer tasks (in) and a final task (inout)
 * that combines them; the creator reads the result after taskwait.
 * Race-free. */
#include <omp.h>
#include <stdio.h>

int x, a, b, total;

int main(void)
{
#pragma omp parallel num_threads(2)
#pragma omp single
    {
#pragma omp task depend(out : x)
        x = 10;
#pragma omp task depend(in : x) depend(out : a)
        a = x + 1;
#pragma omp task depend(in : x) depend(out : b)
        b = x + 2;
#pragma omp task depend(in : a, b) depend(inout : x)
        x = a + b;
#pragma omp taskwait
        total = x;
    }
    printf("%d\n", total);
    return 0;
}
