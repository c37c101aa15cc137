/* omp_tasks_ordered.c: tasks fill a shared array and taskwait orders the
 * reads; an ordered loop appends in order; master writes, then a barrier
 * publishes to everyone; sections write distinct variables. Race-free. */
#include <stdio.h>

int results[64];
int order[64];
int n_order;
int from_master;
int left, right;

int main(void)
{
    long sum = 0;
#pragma omp parallel
    {
#pragma omp single
        {
            for (int i = 0; i < 64; i++) {
#pragma omp task firstprivate(i)
                results[i] = i * i;
            }
#pragma omp taskwait
            for (int i = 0; i < 64; i++)
                sum += results[i];
        }
#pragma omp for ordered
        for (int i = 0; i < 64; i++) {
#pragma omp ordered
            order[n_order++] = i;
        }
#pragma omp master
        from_master = 42;
#pragma omp barrier
        if (from_master != 42)
            printf("lost\n");
#pragma omp sections
        {
#pragma omp section
            left = 1;
#pragma omp section
            right = 2;
        }
    }
    printf("%ld %d %d %d\n", sum, order[63], n_order, left + right);
    return 0;
}
