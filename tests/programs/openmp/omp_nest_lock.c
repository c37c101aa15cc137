/* omp_nest_lock.c: a nestable omp lock taken twice by the same thread (a
 * function that locks calling another that locks again), guarding a
 * counter every thread updates; omp_test_nest_lock is used too. Race-free. */
#include <omp.h>
#include <stdio.h>

omp_nest_lock_t lock;
long counter;

static void add(long n)
{
    omp_set_nest_lock(&lock);
    counter += n;
    omp_unset_nest_lock(&lock);
}

int main(void)
{
    omp_init_nest_lock(&lock);
#pragma omp parallel num_threads(2)
    for (int i = 0; i < 100; i++) {
        omp_set_nest_lock(&lock);
        add(1);
        counter += 1;
        omp_unset_nest_lock(&lock);
        while (!omp_test_nest_lock(&lock))
            ;
        counter += 1;
        omp_unset_nest_lock(&lock);
    }
    omp_destroy_nest_lock(&lock);
    printf("%ld\n", counter);
    return 0;
}
