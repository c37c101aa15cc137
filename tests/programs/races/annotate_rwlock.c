/* annotate_rwlock.c: a home-made lock, announced to the tool with
 * helgrind.h's ANNOTATE_RWLOCK_CREATE/ACQUIRED/RELEASED/DESTROY: main
 * writes the data holding it as a writer, releases it and raises a plain
 * flag (a benign race that orders nothing); the worker waits for the flag
 * and reads the data holding it as a reader. Only the annotations order
 * the data: no race for a tool that honours Helgrind's client requests.
 * tsan-expect: race write 4 annotate_rwlock.c:39 / read 4 annotate_rwlock.c:22
 * tsan-expect: race write 4 annotate_rwlock.c:37 / read 4 annotate_rwlock.c:25
 *   (TSan ignores Valgrind client requests.) */
#include <pthread.h>
#include <stdio.h>
#include <valgrind/helgrind.h>

int lock_word; /* stands for the home-made lock */
volatile int flag;
int data;
volatile int sink;

static void *reader(void *arg)
{
    (void)arg;
    while (!flag)
        ;
    ANNOTATE_RWLOCK_ACQUIRED(&lock_word, 0);
    sink = data;
    ANNOTATE_RWLOCK_RELEASED(&lock_word, 0);
    return NULL;
}

int main(void)
{
    pthread_t t;
    ANNOTATE_RWLOCK_CREATE(&lock_word);
    ANNOTATE_BENIGN_RACE_SIZED(&flag, sizeof flag, "orders nothing");
    pthread_create(&t, NULL, reader, NULL);
    ANNOTATE_RWLOCK_ACQUIRED(&lock_word, 1);
    data = 42;
    ANNOTATE_RWLOCK_RELEASED(&lock_word, 1);
    flag = 1;
    pthread_join(t, NULL);
    ANNOTATE_RWLOCK_DESTROY(&lock_word);
    printf("done\n");
    return 0;
}
