/* omp_task_depend_recursive.c: a recursive Fibonacci whose tasks are
 * ordered only by depend clauses (out: i, out: j, then in: i, j) and a
 * taskwait before each return, on four threads: many parents' dependence
 * objects live at once and finished parents' go away meanwhile (an early
 * version of the task model reused their numbers and lost orderings).
 * (DataRaceBench's fib-taskdep-no.) Race-free. */
#include <omp.h>
#include <stdio.h>

static int fib(int n)
{
    int i, j, s;
    if (n < 2)
        return n;
#pragma omp task shared(i) depend(out : i)
    i = fib(n - 1);
#pragma omp task shared(j) depend(out : j)
    j = fib(n - 2);
#pragma omp task shared(i, j, s) depend(in : i, j)
    s = i + j;
#pragma omp taskwait
    return s;
}

int main(void)
{
    int result = 0;
#pragma omp parallel num_threads(4)
#pragma omp single
    result = fib(12);
    printf("fib(12) = %d\n", result);
    return 0;
}
