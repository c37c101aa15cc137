/* glib_cond_flag.c: a GThread fills a buffer and sets a ready flag under a
 * GMutex, then signals a GCond; main waits on the GCond in a loop while
 * the flag is down, and reads the buffer after. Race-free.
 * ThreadSanitizer does not see the uninstrumented glib's mutex and condvar:
 * tsan-expect: race write 4 glib_cond_flag.c:21 / read 4 glib_cond_flag.c:31
 * build-with: glib-2.0 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

static GMutex lock;
static GCond cond;
static gboolean ready;
static char buffer[32];

static gpointer producer(gpointer data)
{
    (void)data;
    strcpy(buffer, "from the producer");
    g_mutex_lock(&lock);
    ready = TRUE;
    g_cond_signal(&cond);
    g_mutex_unlock(&lock);
    return NULL;
}

int main(void)
{
    GThread *t = g_thread_new("producer", producer, NULL);
    g_mutex_lock(&lock);
    while (!ready)
        g_cond_wait(&cond, &lock);
    g_mutex_unlock(&lock);
    printf("%s\n", buffer);
    g_thread_join(t);
    return 0;
}
