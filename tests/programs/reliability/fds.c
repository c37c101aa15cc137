/* tests/programs/reliability/fds.c (issue 16, item 3): a guest that goes
 * after every descriptor number. It closes everything above stderr,
 * dup2s onto every number below its soft RLIMIT_NOFILE, opens until
 * EMFILE, tries the numbers at and above the limit, then closes all again.
 * hbgrind's log and XML descriptors must survive all of it (they live above
 * the limit the guest sees) and the program must see what it sees natively.
 * Prints only what is the same natively and under hbgrind; limits differ. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static int counter;

static void *bump(void *arg) {
    (void)arg;
    counter++; /* races with main's: the report must reach its file */
    return NULL;
}

static const char *err(int rc) { return rc < 0 ? strerror(errno) : "ok"; }

int main(void) {
    struct rlimit lim, lim2;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || prlimit(0, RLIMIT_NOFILE, NULL, &lim2) != 0)
        return 10;
    if (lim.rlim_cur != lim2.rlim_cur || lim.rlim_max != lim2.rlim_max || lim.rlim_cur > lim.rlim_max)
        return 11;
    int soft = (int)lim.rlim_cur;
    if (soft > 70000) /* keep the run short; these machines have 1024..65536 */
        return 12;

    pthread_t t;
    pthread_create(&t, NULL, bump, NULL);
    counter++;
    pthread_join(t, NULL);

    /* Close everything above stderr, twice over. */
    printf("close_range: %s\n", err(syscall(SYS_close_range, 3, ~0U, 0)));
    int closed_all = 0;
    for (int fd = 3; fd < soft + 100; fd++)
        if (close(fd) == 0)
            closed_all++;
    printf("closes that succeeded after close_range: %d\n", closed_all);

    /* Every number below the limit is ours: dup2 stdout onto each. */
    int dup_fail = 0;
    for (int fd = 3; fd < soft; fd++)
        if (dup2(1, fd) != fd)
            dup_fail++;
    printf("dup2 onto 3..soft-1: %d failures\n", dup_fail);
    errno = 0;
    printf("open with all numbers taken: %s\n", err(open("/dev/null", O_RDONLY)));
    printf("dup with all numbers taken: %s\n", err(dup(0)));
    for (int fd = 3; fd < soft; fd++)
        close(fd);

    /* At and above the limit: refused as natively. */
    printf("dup2 onto soft: %s\n", err(dup2(1, soft)));
    printf("dup3 onto soft+5: %s\n", err(dup3(1, soft + 5, 0)));
    printf("F_DUPFD at soft: %s\n", err(fcntl(1, F_DUPFD, soft)));
    printf("F_DUPFD_CLOEXEC at soft-1: %s\n", fcntl(1, F_DUPFD_CLOEXEC, soft - 1) == soft - 1 ? "ok" : "bad");
    close(soft - 1);

    /* Open until EMFILE, then the same after lowering the soft limit. */
    int opened = 0;
    while (open("/dev/null", O_RDONLY) >= 0)
        opened++;
    printf("opened until %s: %s\n", strerror(errno), opened == soft - 3 ? "all numbers" : "not all");
    syscall(SYS_close_range, 3, ~0U, 0);
    lim2 = lim;
    lim2.rlim_cur = 64;
    printf("setrlimit 64: %s\n", err(setrlimit(RLIMIT_NOFILE, &lim2)));
    opened = 0;
    while (open("/dev/null", O_RDONLY) >= 0)
        opened++;
    printf("opened under 64 until %s: %d\n", strerror(errno), opened);
    int p[2];
    printf("pipe at the limit: %s\n", err(pipe(p)));
    syscall(SYS_close_range, 3, ~0U, 0);
    printf("setrlimit back: %s\n", err(setrlimit(RLIMIT_NOFILE, &lim)));
    return 0;
}
