/* omp_for_nowait_racy.c: a parallel for with nowait fills an array, and
 * thread 0 then reads the last element, which the static schedule gives
 * to thread 1: without the loop's barrier the read races with the write.
 * expect-race: write 8 omp_for_nowait_racy.c:17 / read 8 omp_for_nowait_racy.c:19 */
#include <omp.h>
#include <stdio.h>

long a[1000];
long last;

int main(void)
{
#pragma omp parallel num_threads(2)
    {
#pragma omp for nowait schedule(static)
        for (int i = 0; i < 1000; i++)
            a[i] = i;
        if (omp_get_thread_num() == 0)
            last = a[999];
    }
    printf("%d\n", last == 999 || last == 0);
    return 0;
}
