/* jit.h: what the programs of tests/programs/jit/ share: eight copies of
 * one piece of machine code in an anonymous executable mapping (as a JIT
 * makes them), and two threads running `worker` over halves of them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Copies `len` bytes of `code` 64 bytes apart into a fresh mapping and
 * stores the eight entry points in `entries`. */
static void generate_copies(const unsigned char *code, size_t len, void *entries[8])
{
    unsigned char *at = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (at == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    for (int i = 0; i < 8; i++) {
        memcpy(at + 64 * i, code, len);
        entries[i] = at + 64 * i;
    }
}

/* Runs `worker` on two threads at once, with arguments 0 and 4. */
static void run_two_workers(void *(*worker)(void *))
{
    pthread_t a, b;
    pthread_create(&a, NULL, worker, (void *)0L);
    pthread_create(&b, NULL, worker, (void *)4L);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("done\n");
}
