/* omp_task_no_taskwait_racy.c: a task writes a result that its creator
 * reads without a taskwait: nothing orders the task's write before the
 * read (the end of the single only orders it after it).
 * expect-race: write 4 omp_task_no_taskwait_racy.c:18 / read 4 omp_task_no_taskwait_racy.c:20 */
#include <omp.h>
#include <stdio.h>
#include <time.h>

int result;
int seen = -1;

int main(void)
{
#pragma omp parallel num_threads(2)
#pragma omp single
    {
#pragma omp task
        result = 9;
        nanosleep(&(struct timespec){0, 20000000}, NULL);
        seen = result;
    }
    printf("%d %d\n", result, seen == 0 || seen == 9);
    return 0;
}
