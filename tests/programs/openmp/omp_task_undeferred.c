/* omp_task_undeferred.c: tasks with if(0) run at once, their creator
 * suspended until they end, so each is ordered after the one before and
 * before what the creator does next: a shared counter they all update
 * is race-free, as is the creator's read after them. Race-free. */
#include <omp.h>
#include <stdio.h>

int counter;

int main(void)
{
    int seen = 0;
#pragma omp parallel num_threads(2)
#pragma omp single
    {
        for (int i = 0; i < 10; i++) {
#pragma omp task if (0)
            counter++;
        }
        seen = counter;
    }
    printf("%d %d\n", counter, seen);
    return 0;
}
