/* omp_atomic_vs_plain_racy.c: thread 0 updates a counter with omp atomic,
 * thread 1 reads it with a plain load: atomicity on one side does not
 * make the other side's access ordered.
 * expect-race: write 8 omp_atomic_vs_plain_racy.c:22 / read 8 omp_atomic_vs_plain_racy.c:24
 * The atomic update is a `lock add`, and the plain load the same `mov` an
 * atomic read compiles to: hbgrind's atomics model takes it as an acquire
 * load of an atomic location and cannot see this race (as for
 * tests/programs/races/atomic_vs_plain.c):
 * hbgrind-expect: none */
#include <omp.h>
#include <stdio.h>

long counter;
long peek;

int main(void)
{
#pragma omp parallel num_threads(2)
    {
        if (omp_get_thread_num() == 0) {
#pragma omp atomic
            counter += 5;
        } else {
            peek = counter;
        }
    }
    printf("%ld %d\n", counter, peek == 0 || peek == 5);
    return 0;
}
