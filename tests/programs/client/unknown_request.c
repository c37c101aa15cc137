/* unknown_request.c: client requests that no tool knows (a made-up tool
 * code 'Z','Z' and an unused core number) return the default given by the
 * caller, and the program goes on; natively they return the default too. */
#include <stdio.h>
#include <valgrind/valgrind.h>

int main(void)
{
    unsigned long a = VALGRIND_DO_CLIENT_REQUEST_EXPR(77, VG_USERREQ_TOOL_BASE('Z', 'Z') + 5,
                                                      1, 2, 3, 4, 5);
    unsigned long b = VALGRIND_DO_CLIENT_REQUEST_EXPR(1234, 0x1FFF, 0, 0, 0, 0, 0);
    printf("unknown requests returned %lu and %lu\n", a, b);
    return 3;
}
