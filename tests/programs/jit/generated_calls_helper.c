/* tests/programs/jit/generated_calls_helper.c (issue 11, item 2): a JIT's
 * code calling back into the program, as TCG's translated blocks call
 * QEMU's helpers. Eight stubs (`sub rsp, 8; mov rax, helper; call rax;
 * add rsp, 8; ret`) are written into an anonymous executable mapping; two
 * threads each call four of them, and the helper stores into `slots`
 * without a lock. The race is in the helper, with a generated frame under
 * it: one context, helper <- <generated code> <- worker, whichever stubs
 * the two sides went through. */
#include "jit.h"
#include <stdint.h>

typedef void (*stub_fn)(int *, int);

static int slots[4];
static stub_fn stubs[8];

__attribute__((noinline)) void helper_store(int *slot, int value)
{
    *slot = value;
}

static void *worker(void *arg)
{
    long first = (long)arg;
    for (int i = 0; i < 4; i++)
        stubs[first + i](&slots[i], (int)first + 1);
    return NULL;
}

int main(void)
{
    unsigned char stub[] = {0x48, 0x83, 0xec, 0x08,             /* sub rsp, 8 */
                            0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, /* mov rax, helper */
                            0xff, 0xd0,                         /* call rax */
                            0x48, 0x83, 0xc4, 0x08,             /* add rsp, 8 */
                            0xc3};                              /* ret */
    uint64_t target = (uint64_t)(uintptr_t)helper_store;
    memcpy(stub + 6, &target, 8);
    generate_copies(stub, sizeof stub, (void **)stubs);
    run_two_workers(worker);
    return 0;
}
