/* tests/programs/jit/generated_code_race.c (issue 11, item 2): races made
 * from code generated at run time. The program writes eight copies of a
 * store function (`mov [rdi], esi; ret`) into an anonymous executable
 * mapping, as a JIT would; two threads store into the same four words of
 * `slots` without a lock, each through its own copies. Every pair of
 * stacks differs only in the generated frame, so the four races are one
 * context: "<generated code> (in anonymous 0x...)" called from worker. */
#include "jit.h"

typedef void (*store_fn)(int *, int);

static int slots[4];
static store_fn copies[8];

static void *worker(void *arg)
{
    long first = (long)arg;
    for (int i = 0; i < 4; i++)
        copies[first + i](&slots[i], (int)first + 1);
    return NULL;
}

int main(void)
{
    static const unsigned char store[] = {0x89, 0x37, 0xc3}; /* mov [rdi], esi; ret */
    generate_copies(store, sizeof store, (void **)copies);
    run_two_workers(worker);
    return 0;
}
