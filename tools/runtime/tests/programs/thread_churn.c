/* Thousands of short threads, one after another: the runtime's per-thread
 * mappings and memory go back for reuse when a thread ends, so neither the
 * mapping count nor the resident size grows with the number of threads
 * that have ever run (a thread-per-request server would otherwise run out
 * of mappings after some ten thousand requests). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static void *leaf(void *a) { return a; }
static long mappings(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    long n = 0;
    for (int c; (c = getc(f)) != EOF;) n += c == '\n';
    fclose(f);
    return n;
}
static long rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) v = atol(line + 6);
    fclose(f);
    return v;
}
static void run(int n, int detached) {
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, 0, leaf, 0)) { perror("pthread_create"); exit(1); }
        if (detached) pthread_detach(t); else pthread_join(t, 0);
    }
}
int main(void) {
    run(100, 0);
    long maps0 = mappings(), rss0 = rss_kb();
    run(2000, 0);
    run(500, 1);
    run(500, 0);
    long maps = mappings() - maps0, rss = rss_kb() - rss0;
    if (maps < 20 && rss < 8192) printf("3000 threads: mappings and memory bounded\n");
    else printf("3000 threads: %ld more mappings, %ld kB more resident\n", maps, rss);
    return 0;
}
