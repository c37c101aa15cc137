/* omp_threadprivate.c: a threadprivate counter each thread bumps in two
 * parallel regions (its value persists between them), copied into a shared
 * array at distinct indices; copyin starts a third region from main's
 * value. Race-free. */
#include <omp.h>
#include <stdio.h>

int counter;
#pragma omp threadprivate(counter)
int results[8];

int main(void)
{
    omp_set_dynamic(0);
#pragma omp parallel num_threads(2)
    counter = omp_get_thread_num() + 1;
#pragma omp parallel num_threads(2)
    results[omp_get_thread_num()] = ++counter;
    counter = 50;
#pragma omp parallel num_threads(2) copyin(counter)
    results[omp_get_thread_num() + 2] = counter;
    printf("%d %d %d %d\n", results[0], results[1], results[2], results[3]);
    return 0;
}
