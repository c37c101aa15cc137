/* unlock_unlocked.c: main unlocks a default mutex that nobody holds (after
 * a correct lock/unlock pair); glibc returns 0 for a default mutex, the
 * tools report the misuse.
 * expect-misuse: unlock-unlocked unlock_unlocked.c:16 */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
int value;

int main(void)
{
    pthread_mutex_lock(&lock);
    value = 1;
    pthread_mutex_unlock(&lock);
    pthread_mutex_unlock(&lock);
    printf("value %d\n", value);
    return 0;
}
