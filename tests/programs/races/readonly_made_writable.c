/* readonly_made_writable.c: a constant in a read-only file mapping is read
 * (hbgrind skips such loads: no thread can write there), then its page is
 * made writable with mprotect, and a thread writes it while main reads it
 * again without synchronisation: the translation that skipped the load must
 * be dropped, and the race reported. ThreadSanitizer does not instrument
 * loads of a const object (the compiler knows nobody writes it), so it is
 * blind to this race.
 * tsan-expect: none
 * expect-race: write 4 readonly_made_writable.c:24 / read 4 readonly_made_writable.c:19 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

const int limit = 5;

__attribute__((noinline)) static int read_limit(void)
{
    return *(const volatile int *)&limit;
}

static void *worker(void *arg)
{
    ((volatile int *)arg)[0] = 7;
    return NULL;
}

int main(void)
{
    int before = read_limit();
    uintptr_t page = (uintptr_t)&limit & ~(uintptr_t)4095;
    if (mprotect((void *)page, 4096, PROT_READ | PROT_WRITE) != 0) {
        perror("mprotect");
        return 1;
    }
    pthread_t t;
    pthread_create(&t, NULL, worker, (void *)&limit);
    int after = read_limit();
    pthread_join(t, NULL);
    printf("before %d, after %s\n", before, after == 5 || after == 7 ? "5 or 7" : "?");
    return 0;
}
