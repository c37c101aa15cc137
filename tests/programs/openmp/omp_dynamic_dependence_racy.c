/* omp_dynamic_dependence_racy.c: a loop-carried dependence, a[i] from
 * a[i-1], in a parallel for with schedule(dynamic, 1): iterations i-1 and
 * i run on different threads with nothing between them, a race.
 * expect-race: write 4 omp_dynamic_dependence_racy.c:21 / read 4 omp_dynamic_dependence_racy.c:21
 * hbgrind reports nothing here (every run, each wait policy, 2026-12-03).
 * The chunks are handed out by a `lock xadd` on libgomp's work-share
 * counter, and libgomp's stores there are release stores: the thread that
 * takes chunk i is ordered after the one that took chunk i-1, and how far
 * that reaches into its work is not yet analysed (papers/lockmodels.md,
 * "OpenMP", item 1: libgomp's atomics over-order):
 * hbgrind-expect: none */
#include <stdio.h>

int a[256];

int main(void)
{
    a[0] = 1;
#pragma omp parallel for schedule(dynamic, 1) num_threads(2)
    for (int i = 1; i < 256; i++)
        a[i] = a[i - 1] + 1;
    printf("%d\n", a[255] > 0);
    return 0;
}
