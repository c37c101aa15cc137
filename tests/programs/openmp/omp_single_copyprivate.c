/* omp_single_copyprivate.c: one thread reads a setting in a single
 * construct and copyprivate hands its value to every thread's private
 * copy; a second single without nowait writes a shared value that all
 * read after its implicit barrier. Race-free. */
#include <omp.h>
#include <stdio.h>

int shared_value;
int results[8];

int main(void)
{
#pragma omp parallel num_threads(2)
    {
        int setting;
#pragma omp single copyprivate(setting)
        setting = 6;
#pragma omp single
        shared_value = setting * 7;
        results[omp_get_thread_num()] = shared_value + setting;
    }
    printf("%d %d\n", results[0], results[1]);
    return 0;
}
