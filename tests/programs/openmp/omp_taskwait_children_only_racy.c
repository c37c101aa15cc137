/* omp_taskwait_children_only_racy.c: taskwait waits for the children of
 * the current task, not for their children: the grandchild's write is
 * not ordered before the read after the taskwait.
 * expect-race: write 4 omp_taskwait_children_only_racy.c:22 / read 4 omp_taskwait_children_only_racy.c:27 */
#include <omp.h>
#include <stdio.h>

int inner, outer;

int main(void)
{
    int sum = 0;
#pragma omp parallel num_threads(2)
#pragma omp single
    {
#pragma omp task
        {
#pragma omp task
            {
                for (volatile int spin = 0; spin < 100000; spin++)
                    ;
                inner = 2;
            }
            outer = 1;
        }
#pragma omp taskwait
        sum = inner + outer;
    }
    printf("%d\n", sum >= 1);
    return 0;
}
