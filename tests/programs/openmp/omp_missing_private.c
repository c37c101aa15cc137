/* omp_missing_private.c: a temporary declared outside a parallel for is
 * shared by default; every thread writes and reads it: a race (the bug
 * DataRaceBench's "privatemissing" kernels show).
 * expect-race: write 4 omp_missing_private.c:15 / write 4 omp_missing_private.c:15 */
#include <stdio.h>

int a[1000], b[1000];

int main(void)
{
    int tmp;
#pragma omp parallel for
    for (int i = 0; i < 1000; i++) {
        tmp = a[i] + i;
        b[i] = tmp;
    }
    printf("%d\n", b[999]);
    return 0;
}
