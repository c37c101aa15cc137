/* tests/programs/reliability/robust_mutex.c (issue 16): a thread dies
 * holding a robust mutex; the next locker gets EOWNERDEAD, makes the mutex
 * consistent and unlocks it. That unlock is of a held lock: no error.
 * The same through pthread_mutex_trylock. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t m;

static void *die_holding(void *arg) {
    (void)arg;
    pthread_mutex_lock(&m);
    return NULL; /* ends without unlocking */
}

static void orphan(void) {
    pthread_t t;
    pthread_create(&t, NULL, die_holding, NULL);
    pthread_join(t, NULL);
}

int main(void) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&m, &a);

    orphan();
    int rc = pthread_mutex_lock(&m);
    printf("lock: %s\n", rc == EOWNERDEAD ? "EOWNERDEAD" : "other");
    printf("consistent: %d\n", pthread_mutex_consistent(&m));
    printf("unlock: %d\n", pthread_mutex_unlock(&m));

    orphan();
    rc = pthread_mutex_trylock(&m);
    printf("trylock: %s\n", rc == EOWNERDEAD ? "EOWNERDEAD" : "other");
    printf("consistent: %d\n", pthread_mutex_consistent(&m));
    printf("unlock: %d\n", pthread_mutex_unlock(&m));

    printf("lock again: %d\n", pthread_mutex_lock(&m));
    printf("unlock: %d\n", pthread_mutex_unlock(&m));
    return 0;
}
