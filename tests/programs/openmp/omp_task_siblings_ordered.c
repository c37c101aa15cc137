/* omp_task_siblings_ordered.c: the racy siblings' twin, ordered three
 * ways: a taskwait between the two tasks, an inout dependence, and a
 * taskgroup. Each task also calls a function with locals of its own, so
 * that task bodies run on one thread reuse each other's stack frames.
 * Race-free. */
#include <omp.h>
#include <stdio.h>

int value, chained, grouped;

static int work(int seed)
{
    volatile int scratch[64];
    for (int i = 0; i < 64; i++)
        scratch[i] = seed + i;
    return scratch[63];
}

int main(void)
{
#pragma omp parallel num_threads(2)
#pragma omp single
    {
#pragma omp task
        value = work(1);
#pragma omp taskwait
#pragma omp task
        value = work(value);
#pragma omp task depend(inout : chained)
        chained = work(2);
#pragma omp task depend(inout : chained)
        chained = work(chained);
#pragma omp taskgroup
        {
#pragma omp task
            grouped = work(3);
        }
#pragma omp task
        grouped = work(grouped);
    }
    printf("%d %d %d\n", value, chained, grouped);
    return 0;
}
