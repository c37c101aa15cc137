/* omp_unprotected_sum.c: a shared sum updated by every thread of a
 * parallel for without reduction, atomic or critical: a race.
 * expect-race: read 8 omp_unprotected_sum.c:12 / write 8 omp_unprotected_sum.c:13
 * expect-race: write 8 omp_unprotected_sum.c:13 / write 8 omp_unprotected_sum.c:13 */
#include <stdio.h>

long sum;

int main(void)
{
#pragma omp parallel for
    for (int i = 0; i < 1000; i++)
        sum += i;
    printf("%d\n", sum > 0);
    return 0;
}
