/* tests/programs/reliability/set_gs.c (issue 16): sets its own GS base
 * with arch_prctl(ARCH_SET_GS). hbgrind keeps its thread block behind GS
 * and refuses such a program with one clear line (README, "Limits"). */
#include <asm/prctl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned long block[16];

int main(void) {
    printf("before\n");
    fflush(stdout);
    long rc = syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)block);
    printf("arch_prctl: %ld\n", rc);
    return 0;
}
