/* omp_ordered_outside_racy.c: an ordered loop whose shared counter is
 * read inside the ordered region but written after it: the write is not
 * ordered with the next iteration's read and write by the other thread.
 * expect-race: write 4 omp_ordered_outside_racy.c:24 / read 4 omp_ordered_outside_racy.c:22
 * expect-race: write 4 omp_ordered_outside_racy.c:24 / write 4 omp_ordered_outside_racy.c:24
 * libgomp orders more than OpenMP asks: its GOMP_ordered_end does nothing,
 * and the next thread is let into the ordered region only when this one
 * asks for its next chunk, after the write. hbgrind sees libgomp's real
 * hand-off (papers/lockmodels.md, "OpenMP"), not the construct's meaning:
 * hbgrind-expect: none */
#include <stdio.h>

int count;
int order[64];

int main(void)
{
#pragma omp parallel for ordered schedule(static, 1) num_threads(2)
    for (int i = 0; i < 64; i++) {
        int c;
#pragma omp ordered
        c = count;
        order[i] = c;
        count = c + 1;
    }
    printf("%d\n", count > 0);
    return 0;
}
