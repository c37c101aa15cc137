/* glib_mutex_counter.c: three GThreads bump a counter under a static GMutex
 * and are joined with g_thread_join. glib's GMutex is a futex word of its
 * own, modelled by lockmodels/models/glib.model. Race-free.
 * ThreadSanitizer does not see the uninstrumented glib's mutex:
 * tsan-expect: race read 8 glib_mutex_counter.c:18 / write 8 glib_mutex_counter.c:18
 * build-with: glib-2.0 */
#include <glib.h>
#include <stdio.h>

static GMutex lock;
static long counter;

static gpointer worker(gpointer data)
{
    (void)data;
    for (int i = 0; i < 1000; i++) {
        g_mutex_lock(&lock);
        counter++;
        g_mutex_unlock(&lock);
    }
    return NULL;
}

int main(void)
{
    GThread *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = g_thread_new("worker", worker, NULL);
    for (int i = 0; i < 3; i++)
        g_thread_join(t[i]);
    printf("%ld\n", counter);
    return 0;
}
