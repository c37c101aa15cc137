/* dlopen_cycle.c: shared libraries loaded, called and unloaded again and
 * again (libz, libbz2, liblzma, libzstd), so code is mapped and unmapped
 * at addresses that get reused by a different library. A translator that
 * kept translations of unmapped code would run stale code here. Also
 * spawns a child with posix_spawn (glibc: clone with CLONE_VM|CLONE_VFORK)
 * and reports its exit status. */
#include <dlfcn.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

typedef unsigned long (*crc32_fn)(unsigned long, const unsigned char *, unsigned);
typedef const char *(*version_fn)(void);
typedef unsigned (*lzma_version_fn)(void);

int main(void) {
    static const unsigned char data[] = "the quick brown fox jumps over the lazy dog";
    unsigned long crc_sum = 0;
    size_t version_chars = 0;
    unsigned lzma_sum = 0;
    int loads = 0;
    for (int i = 0; i < 60; i++) {
        void *z = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!z) {
            printf("dlopen libz: %s\n", dlerror());
            return 1;
        }
        crc32_fn crc32 = (crc32_fn)dlsym(z, "crc32");
        crc_sum += crc32(i, data, sizeof data - 1 - (unsigned)(i % 7));
        dlclose(z);

        const char *lib = (i % 3 == 0) ? "libbz2.so.1.0" : (i % 3 == 1) ? "liblzma.so.5" : "libzstd.so.1";
        void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            printf("dlopen %s: %s\n", lib, dlerror());
            return 1;
        }
        loads++;
        if (i % 3 == 0) {
            version_chars += strlen(((version_fn)dlsym(h, "BZ2_bzlibVersion"))());
        } else if (i % 3 == 1) {
            lzma_sum += ((lzma_version_fn)dlsym(h, "lzma_version_number"))() % 1000;
        } else {
            version_chars += strlen(((version_fn)dlsym(h, "ZSTD_versionString"))());
        }
        dlclose(h);
    }
    printf("crc sum %lu, version chars %zu, lzma %u, loads %d\n", crc_sum, version_chars, lzma_sum, loads);

    pid_t pid;
    char *argv[] = {"sh", "-c", "exit 13", NULL};
    if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0) {
        puts("posix_spawn failed");
        return 1;
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    fflush(stdout);
    return 0;
}
