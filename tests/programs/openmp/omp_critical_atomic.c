/* omp_critical_atomic.c: shared counters updated in an unnamed critical
 * section, a named one, with omp atomic, and under an omp lock; read after
 * an explicit barrier by a single thread. Race-free. */
#include <omp.h>
#include <stdio.h>

long plain, named, atomic_count, locked;

int main(void)
{
    omp_lock_t lock;
    omp_init_lock(&lock);
#pragma omp parallel
    {
        for (int i = 0; i < 100; i++) {
#pragma omp critical
            plain++;
#pragma omp critical(other)
            named += 2;
#pragma omp atomic
            atomic_count++;
            omp_set_lock(&lock);
            locked += 3;
            omp_unset_lock(&lock);
        }
#pragma omp barrier
#pragma omp single
        printf("%ld %ld %ld %ld\n", plain, named, atomic_count, locked);
    }
    omp_destroy_lock(&lock);
    return 0;
}
