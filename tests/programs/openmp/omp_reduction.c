/* omp_reduction.c: a parallel for with a reduction and a shared array
 * written at distinct indices, then read by main after the region.
 * Race-free. */
#include <stdio.h>

int a[4096];

int main(void)
{
    long sum = 0;
#pragma omp parallel for reduction(+ : sum)
    for (int i = 0; i < 4096; i++) {
        a[i] = i;
        sum += i;
    }
    long check = 0;
    for (int i = 0; i < 4096; i++)
        check += a[i];
    printf("%ld %ld\n", sum, check);
    return 0;
}
