/* omp_task_siblings_racy.c: two sibling tasks write one variable with
 * nothing between them (no depend clause, no taskwait): a race whichever
 * threads run them, and also when one thread runs both, one after the
 * other, which is what libgomp usually does here.
 * expect-race: write 4 omp_task_siblings_racy.c:17 / write 4 omp_task_siblings_racy.c:19 */
#include <omp.h>
#include <stdio.h>

int shared_value;

int main(void)
{
#pragma omp parallel num_threads(2)
#pragma omp single
    {
#pragma omp task
        shared_value = 1;
#pragma omp task
        shared_value = 2;
    }
    printf("%d\n", shared_value == 1 || shared_value == 2);
    return 0;
}
