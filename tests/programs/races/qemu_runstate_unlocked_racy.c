/* qemu_runstate_unlocked_racy.c: the locking rule QEMU 7.2 breaks on its
 * guest-panic path: the main loop reads the run state under the big QEMU
 * lock (qemu_global_mutex, through QemuMutex), and a vCPU thread changes
 * it without taking that lock. QEMU's lock model is built in and its
 * suppressions are loaded: neither may hide this race.
 * hbgrind-options: --suppressions=suppressions/qemu.supp
 * expect-race: write 4 qemu_runstate_unlocked_racy.c:35 / read 4 qemu_runstate_unlocked_racy.c:40 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

typedef struct {
    pthread_mutex_t lock;
} QemuMutex;

QemuMutex qemu_global_mutex = {PTHREAD_MUTEX_INITIALIZER};

__attribute__((noinline)) void qemu_mutex_lock_impl(QemuMutex *m, const char *file, int line)
{
    (void)file, (void)line;
    pthread_mutex_lock(&m->lock);
}

__attribute__((noinline)) void qemu_mutex_unlock_impl(QemuMutex *m, const char *file, int line)
{
    (void)file, (void)line;
    pthread_mutex_unlock(&m->lock);
}

enum { RUN_STATE_RUNNING = 9, RUN_STATE_GUEST_PANICKED = 15 };
int current_run_state = RUN_STATE_RUNNING;

__attribute__((noinline)) void runstate_set(int state)
{
    current_run_state = state;
}

__attribute__((noinline)) int runstate_check(int state)
{
    return current_run_state == state;
}

static void *vcpu_thread(void *arg)
{
    (void)arg;
    nanosleep(&(struct timespec){0, 5000000}, NULL);
    runstate_set(RUN_STATE_GUEST_PANICKED); /* the guest panicked: no BQL */
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, vcpu_thread, NULL);
    for (int panicked = 0; !panicked;) {
        qemu_mutex_lock_impl(&qemu_global_mutex, __FILE__, __LINE__);
        panicked = runstate_check(RUN_STATE_GUEST_PANICKED);
        qemu_mutex_unlock_impl(&qemu_global_mutex, __FILE__, __LINE__);
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    pthread_join(t, NULL);
    printf("panicked\n");
    return 0;
}
