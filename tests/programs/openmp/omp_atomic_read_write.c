/* omp_atomic_read_write.c: omp atomic write, update, capture and read on
 * a shared value from every thread, and an atomic flag read in a loop.
 * Race-free. */
#include <omp.h>
#include <stdio.h>

long value;
int flag;
long captured[8];

int main(void)
{
#pragma omp parallel num_threads(2)
    {
        int me = omp_get_thread_num();
        if (me == 0) {
#pragma omp atomic write
            value = 100;
#pragma omp atomic write
            flag = 1;
        }
        int f;
        do {
#pragma omp atomic read
            f = flag;
        } while (!f);
#pragma omp atomic capture
        captured[me] = value++;
    }
    printf("%ld %ld\n", value, captured[0] + captured[1]);
    return 0;
}
