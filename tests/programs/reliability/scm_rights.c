/* tests/programs/reliability/scm_rights.c (issue 16, item 3): descriptors
 * received with SCM_RIGHTS stay below the soft RLIMIT_NOFILE the program
 * sees. The program fills its descriptor table up to that limit but for
 * `room` numbers, then receives three descriptors over a Unix socket: the
 * kernel installs `room` of them, counts only those in the SCM_RIGHTS
 * header (none: no header) and sets MSG_CTRUNC. Under hbgrind the real
 * limit is higher (its own descriptors live above the program's), so the
 * same must come out of hbgrind's emulation. stdout is the same natively
 * and under hbgrind. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void receive_with_room(int room) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        perror("socketpair");
        return;
    }
    /* Send three descriptors before the table fills. */
    int send_fds[3] = {0, 1, 2};
    char data = 'x';
    struct iovec iov = {&data, 1};
    union { char buf[CMSG_SPACE(sizeof send_fds)]; struct cmsghdr align; } out;
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = out.buf;
    m.msg_controllen = sizeof out.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof send_fds);
    memcpy(CMSG_DATA(c), send_fds, sizeof send_fds);
    if (sendmsg(sv[0], &m, 0) != 1) {
        perror("sendmsg");
        return;
    }
    /* Fill the table, then give back `room` numbers. */
    int filler[4096], n = 0;
    while (n < 4096 && (filler[n] = dup(0)) >= 0)
        n++;
    int full_errno = errno;
    for (int i = 0; i < room && n > 0; i++)
        close(filler[--n]);

    union { char buf[CMSG_SPACE(sizeof send_fds)]; struct cmsghdr align; } in;
    memset(&in, 0, sizeof in);
    struct msghdr r = {0};
    r.msg_iov = &iov;
    r.msg_iovlen = 1;
    r.msg_control = in.buf;
    r.msg_controllen = sizeof in.buf;
    ssize_t got = recvmsg(sv[1], &r, 0);
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    int received = 0, below = 1;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&r); h; h = CMSG_NXTHDR(&r, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
            continue;
        int k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (int i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
            below &= fd >= 0 && (rlim_t)fd < lim.rlim_cur && fcntl(fd, F_GETFD) >= 0;
            received++;
            close(fd);
        }
    }
    printf("room %d: table full with %s; recvmsg %zd, %d received, all below the limit: %s, MSG_CTRUNC: %s\n",
           room, strerror(full_errno), got, received, below ? "yes" : "no",
           r.msg_flags & MSG_CTRUNC ? "yes" : "no");
    while (n > 0)
        close(filler[--n]);
    close(sv[0]);
    close(sv[1]);
}

int main(void) {
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    /* A small limit keeps the table cheap to fill. */
    if (lim.rlim_cur > 256) {
        lim.rlim_cur = 256;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    receive_with_room(0);
    receive_with_room(1);
    receive_with_room(2);
    receive_with_room(3);
    return 0;
}
