/* tests/programs/coroutine_stacks.c (issue 11, item 3): shadow call stacks
 * across coroutine switches. main runs a coroutine (makecontext and
 * swapcontext on a stack registered with VALGRIND_STACK_REGISTER) that
 * switches back and forth with main's nested calls; a worker thread
 * stores to `from_co` and `from_main` first, without synchronisation. Each
 * race report must show its own side's stack: the coroutine's store at
 * co_body alone (its frames are not chained onto main's), main's at
 * middle called from main (not cut by the switches). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

static ucontext_t main_ctx, co_ctx;
static int from_co, from_main;
static int steps;

__attribute__((noinline)) static void co_step(int i)
{
    steps += i;
    swapcontext(&co_ctx, &main_ctx);
}

__attribute__((noinline)) static void co_body(void)
{
    for (int i = 0; i < 3; i++)
        co_step(i);
    from_co = 1;
    swapcontext(&co_ctx, &main_ctx);
}

__attribute__((noinline)) static void outer_step(void)
{
    swapcontext(&main_ctx, &co_ctx);
}

__attribute__((noinline)) static void middle(void)
{
    for (int i = 0; i < 4; i++)
        outer_step();
    from_main = 1;
}

static void *worker(void *arg)
{
    from_co = 2;
    from_main = 2;
    return arg;
}

int main(void)
{
    size_t size = 256 * 1024;
    char *stack = malloc(size);
    unsigned id = VALGRIND_STACK_REGISTER(stack, stack + size);
    getcontext(&co_ctx);
    co_ctx.uc_stack.ss_sp = stack;
    co_ctx.uc_stack.ss_size = size;
    co_ctx.uc_link = &main_ctx;
    makecontext(&co_ctx, co_body, 0);

    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    usleep(200000); /* the worker stores first (no synchronisation) */
    middle();
    pthread_join(t, NULL);
    VALGRIND_STACK_DEREGISTER(id);
    free(stack);
    printf("steps %d, %d %d\n", steps, from_co, from_main);
    return 0;
}
