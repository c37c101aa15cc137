/* thread_local_address_shared.c: main passes the address of its own copy of
 * a __thread variable to a worker, which writes it while main writes the
 * same copy through its FS-relative name. Thread-local storage is ordinary
 * memory: the accesses race, at the copy's real address.
 * expect-race: write 4 thread_local_address_shared.c:15 / write 4 thread_local_address_shared.c:23 */
#include <pthread.h>
#include <stdio.h>

__thread int mine;

static void *worker(void *arg)
{
    int *main_copy = arg;
    __asm__ volatile("" ::: "memory");
    main_copy[0] = 1;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, &mine);
    mine = 2;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
