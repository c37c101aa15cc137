/* omp_taskwait_depend_racy.c: `taskwait depend(in: x)` does not wait for
 * the sibling that writes y: reading y after it races with that task.
 * expect-race: write 4 omp_taskwait_depend_racy.c:17 / read 4 omp_taskwait_depend_racy.c:20 */
#include <omp.h>
#include <stdio.h>

static void run(void)
{
    int x = 0, y = 2;
#pragma omp task depend(inout : x) shared(x)
    x++;
#pragma omp task shared(y)
    {
        for (volatile int spin = 0; spin < 100000; spin++) {
            ;
        }
        y = 1;
    }
#pragma omp taskwait depend(in : x)
    printf("x=%d y=%d\n", x, y == 1 || y == 2);
#pragma omp taskwait
}

int main(void)
{
#pragma omp parallel num_threads(2)
#pragma omp single
    run();
    return 0;
}
