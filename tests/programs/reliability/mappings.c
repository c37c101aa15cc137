/* tests/programs/reliability/mappings.c (issue 16, item 4): a guest that
 * attacks memory it does not own: every mapping of hbgrind's runtime
 * library (text, data, .bss tail) and every anonymous read-write-execute
 * mapping (the code cache; natively there is none). Natively nothing is
 * found and nothing happens; under hbgrind each call must fail as under
 * Valgrind (munmap, mremap, mmap MAP_FIXED: EINVAL; mprotect, madvise:
 * ENOMEM) and the program must go on. stdout is the same either way; what
 * was refused goes to stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct range { unsigned long start, end; char what[16]; };

static struct range found[64];
static int nfound;

static void find(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    unsigned long prev_end = 0;
    int prev_rt = 0;
    while (f && fgets(line, sizeof line, f) && nfound < 64) {
        unsigned long a, b;
        char perms[8], path[256] = "";
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &a, &b, perms, path) < 3)
            continue;
        int rt = strstr(path, "libhbgrind_rt") != NULL;
        const char *what = NULL;
        if (rt)
            what = "runtime";
        else if (!path[0] && prev_rt && a == prev_end)
            what = "runtime bss";
        else if (!path[0] && strcmp(perms, "rwxp") == 0)
            what = "code cache";
        if (what) {
            found[nfound].start = a;
            found[nfound].end = b;
            strcpy(found[nfound].what, what);
            nfound++;
        }
        prev_rt = rt;
        prev_end = b;
    }
    if (f)
        fclose(f);
}

static void report(const char *call, const struct range *r, int rc) {
    fprintf(stderr, "%s %s: %s\n", call, r->what, rc == 0 ? "SUCCEEDED" : strerror(errno));
}

int main(void) {
    find();
    for (int i = 0; i < nfound; i++) {
        struct range *r = &found[i];
        void *p = (void *)r->start;
        size_t len = r->end - r->start;
        report("mprotect", r, mprotect(p, len, PROT_NONE));
        report("madvise", r, madvise(p, len, MADV_DONTNEED));
        report("munmap", r, munmap(p, 4096));
        void *m = mremap(p, len, len + 4096, 0);
        report("mremap", r, m == MAP_FAILED ? -1 : 0);
        m = mmap(p, 4096, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        report("mmap", r, m == MAP_FAILED ? -1 : 0);
    }
    /* One call over the whole address space range that holds them all. */
    if (nfound) {
        unsigned long lo = found[0].start, hi = found[nfound - 1].end;
        int rc = munmap((void *)lo, hi - lo);
        fprintf(stderr, "munmap all: %s\n", rc == 0 ? "SUCCEEDED" : strerror(errno));
    }
    char *q = malloc(100);
    strcpy(q, "still running");
    printf("%s\n", q);
    free(q);
    return 0;
}
