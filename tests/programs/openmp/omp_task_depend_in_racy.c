/* omp_task_depend_in_racy.c: two tasks that depend on the same variable
 * only as readers (depend(in)) are not ordered with each other: their
 * writes to another variable race, while their reads of the producer's
 * value are ordered after its write.
 * expect-race: write 4 omp_task_depend_in_racy.c:20 / write 4 omp_task_depend_in_racy.c:22 */
#include <omp.h>
#include <stdio.h>

int x, last_reader;

int main(void)
{
    int seen = 0;
#pragma omp parallel num_threads(2)
#pragma omp single
    {
#pragma omp task depend(out : x)
        x = 10;
#pragma omp task depend(in : x)
        last_reader = x + 1;
#pragma omp task depend(in : x)
        last_reader = x + 2;
#pragma omp taskwait
        seen = last_reader;
    }
    printf("%d\n", seen == 11 || seen == 12);
    return 0;
}
