/* omp_lock_one_side_racy.c: thread 0 writes a value under an omp lock,
 * thread 1 reads it without taking the lock.
 * expect-race: write 8 omp_lock_one_side_racy.c:18 / read 8 omp_lock_one_side_racy.c:21 */
#include <omp.h>
#include <stdio.h>

omp_lock_t lock;
long value;
long peek;

int main(void)
{
    omp_init_lock(&lock);
#pragma omp parallel num_threads(2)
    {
        if (omp_get_thread_num() == 0) {
            omp_set_lock(&lock);
            value = 11;
            omp_unset_lock(&lock);
        } else {
            peek = value;
        }
    }
    omp_destroy_lock(&lock);
    printf("%d\n", peek == 0 || peek == 11);
    return 0;
}
