/* tests/programs/reliability/mappings.c (issue 16, item 4): a guest that
 * attacks memory it does not own: every mapping of hbgrind's runtime
 * library (text, data, .bss tail) and every anonymous read-write-execute
 * mapping (the code cache; natively there is none). Natively nothing is
 * found and nothing happens; under hbgrind each call must fail as under
 * Valgrind (munmap, mremap, mmap MAP_FIXED: EINVAL; mprotect, madvise:
 * ENOMEM) and the program must go on. stdout is the same either way; what
 * was refused goes to stderr.
 *
 * The process's own /proc/self/maps does not show hbgrind's mappings, so
 * a forked child reads its parent's (/proc/PPID/maps, as another process
 * sees it) to find them. Then the program checks its own views (maps,
 * smaps, thread-self, a path relative to an opened /proc/self) hold none
 * of them but do hold its stack and itself, and that the view refuses
 * writes like the kernel's file. With the argument "race" it makes a data
 * race first, so the race tool has symbolised a report, mapping debug
 * information, before the attack: those mappings are hbgrind's too. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct range { unsigned long start, end; char what[16]; };

static struct range found[64];
static int nfound;

/* The maps of this process as another process sees them. */
static FILE *parents_maps(void) {
    int p[2];
    if (pipe(p) != 0)
        return NULL;
    pid_t child = fork();
    if (child == 0) {
        char path[64], buf[4096];
        snprintf(path, sizeof path, "/proc/%d/maps", (int)getppid());
        int fd = open(path, O_RDONLY);
        ssize_t n;
        while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0)
            if (write(p[1], buf, n) != n)
                break;
        _exit(0);
    }
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    return f;
}

static void find(void) {
    FILE *f = parents_maps();
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
        else if (strstr(path, "/usr/lib/debug/"))
            what = "debug info"; /* mapped by hbgrind's symbolizer */
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
    while (wait(NULL) > 0)
        ;
}

/* Checks one view of the process's own map read from `fd`: how many of
 * its lines overlap what `find` found, and whether it shows the stack and
 * the program. */
static void check_view(const char *name, int fd) {
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    char line[512];
    int foreign = 0, stack = 0, self = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2)
            for (int i = 0; i < nfound; i++)
                if (a < found[i].end && found[i].start < b)
                    foreign++;
        stack |= strstr(line, "[stack]") != NULL;
        self |= strstr(line, "/mappings") != NULL;
    }
    printf("%s: %d of hbgrind's, stack %s, program %s\n", name, foreign, stack ? "yes" : "no",
           self ? "yes" : "no");
    if (f)
        fclose(f);
}

static void report(const char *call, const struct range *r, int rc) {
    fprintf(stderr, "%s %s: %s\n", call, r->what, rc == 0 ? "SUCCEEDED" : strerror(errno));
}

static volatile int racy;

static void *racer(void *arg) {
    racy = 1;
    return arg;
}

int main(int argc, char **argv) {
    /* With "race": a data race first, so the race tool symbolises a report
     * (and maps debug information) before the attack. */
    if (argc > 1 && strcmp(argv[1], "race") == 0) {
        pthread_t t;
        pthread_create(&t, NULL, racer, NULL);
        racy = 2;
        pthread_join(t, NULL);
    }
    find();
    check_view("maps", open("/proc/self/maps", O_RDONLY));
    check_view("smaps", open("/proc/self/smaps", O_RDONLY));
    check_view("thread-self", open("/proc/thread-self/maps", O_RDONLY | O_CLOEXEC));
    int dir = open("/proc/self", O_RDONLY | O_DIRECTORY);
    check_view("relative", openat(dir, "maps", O_RDONLY));
    close(dir);
    int fd = open("/proc/self/maps", O_RDONLY);
    printf("write to maps: %s\n", write(fd, "x", 1) < 0 ? strerror(errno) : "written");
    close(fd);
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
