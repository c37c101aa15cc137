/* c11_seq_cst_dekker.c: Dekker's entry with seq_cst atomics, one attempt
 * per thread: each thread raises its flag, then enters only if the other's
 * flag is still down. Sequential consistency forbids both reading 0, so at
 * most one thread writes the winner's record; main reads it after joining.
 * Race-free. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

atomic_int flag[2];
int winner = -1;
int entered;

static void *contender(void *arg)
{
    int me = (int)(long)arg;
    atomic_store(&flag[me], 1);
    if (atomic_load(&flag[1 - me]) == 0) {
        winner = me;
        entered++;
    }
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, contender, (void *)i);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("%d\n", entered <= 1 && (entered == 0 || winner >= 0));
    return 0;
}
