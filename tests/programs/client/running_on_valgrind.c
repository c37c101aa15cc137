/* running_on_valgrind.c: prints RUNNING_ON_VALGRIND, which is 0 natively
 * and 1 under hbgrind (whatever the tool), as under Valgrind. */
#include <stdio.h>
#include <valgrind/valgrind.h>

int main(void)
{
    printf("running on valgrind: %u\n", (unsigned)RUNNING_ON_VALGRIND);
    return 0;
}
