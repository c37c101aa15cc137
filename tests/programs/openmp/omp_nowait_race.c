/* omp_nowait_race.c: a master thread writes a value and the others read it
 * without the barrier that `master` lacks: a race.
 * expect-race: write 4 omp_nowait_race.c:15 / read 4 omp_nowait_race.c:16 */
#include <omp.h>
#include <stdio.h>

int flag_value;
int seen[8];

int main(void)
{
#pragma omp parallel num_threads(2)
    {
#pragma omp master
        flag_value = 7;
        seen[omp_get_thread_num()] = flag_value;
    }
    printf("%d\n", seen[0]);
    return 0;
}
