/* omp_sections_racy.c: two sections of one sections construct write the
 * same variable; the sections may run on different threads at once.
 * expect-race: write 4 omp_sections_racy.c:17 / write 4 omp_sections_racy.c:22 */
#include <omp.h>
#include <stdio.h>
#include <time.h>

int last;

int main(void)
{
#pragma omp parallel sections num_threads(2)
    {
#pragma omp section
        {
            nanosleep(&(struct timespec){0, 10000000}, NULL);
            last = 1;
        }
#pragma omp section
        {
            nanosleep(&(struct timespec){0, 10000000}, NULL);
            last = 2;
        }
    }
    printf("%d\n", last == 1 || last == 2);
    return 0;
}
