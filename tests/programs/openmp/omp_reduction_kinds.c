/* omp_reduction_kinds.c: reductions with +, *, max and & on scalars and on
 * an array section, over a parallel for. Race-free. */
#include <stdio.h>

int main(void)
{
    long sum = 0, product = 1, mask = -1;
    int biggest = 0;
    long hist[4] = {0};
#pragma omp parallel for reduction(+ : sum) reduction(* : product) \
    reduction(max : biggest) reduction(& : mask) reduction(+ : hist[:4])
    for (int i = 1; i <= 20; i++) {
        sum += i;
        if (i <= 10)
            product *= 2;
        biggest = i > biggest ? i : biggest;
        mask &= ~(1L << (i % 8));
        hist[i % 4]++;
    }
    printf("%ld %ld %d %ld %ld\n", sum, product, biggest, mask, hist[0] + hist[3]);
    return 0;
}
