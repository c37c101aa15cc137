/* omp_single_nowait_racy.c: a single construct with nowait writes a shared
 * value, and every thread reads it right after: without the single's
 * barrier the other thread's read races with the write.
 * expect-race: write 4 omp_single_nowait_racy.c:16 / read 4 omp_single_nowait_racy.c:17 */
#include <omp.h>
#include <stdio.h>

int shared_value;
int results[8];

int main(void)
{
#pragma omp parallel num_threads(2)
    {
#pragma omp single nowait
        shared_value = 42;
        results[omp_get_thread_num()] = shared_value;
    }
    printf("%d\n", results[0] + results[1] >= 42);
    return 0;
}
