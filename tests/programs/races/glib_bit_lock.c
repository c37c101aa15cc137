/* glib_bit_lock.c: two GThreads bump a counter under g_bit_lock on bit 0
 * of a shared int (glib's bit locks are LOCK-prefixed instructions inside
 * libglib, with a futex for waiters; hbgrind's atomics model orders them).
 * Race-free. ThreadSanitizer does not see inside the uninstrumented glib:
 * tsan-expect: race read 8 glib_bit_lock.c:18 / write 8 glib_bit_lock.c:18
 * build-with: glib-2.0 */
#include <glib.h>
#include <stdio.h>

static gint lock_word;
static long counter;

static gpointer worker(gpointer data)
{
    (void)data;
    for (int i = 0; i < 1000; i++) {
        g_bit_lock(&lock_word, 0);
        counter++;
        g_bit_unlock(&lock_word, 0);
    }
    return NULL;
}

int main(void)
{
    GThread *a = g_thread_new("a", worker, NULL);
    GThread *b = g_thread_new("b", worker, NULL);
    g_thread_join(a);
    g_thread_join(b);
    printf("%ld\n", counter);
    return 0;
}
