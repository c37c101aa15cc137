/* glib_mutex_racy.c: a GThread reads a value under a GMutex while main
 * writes it without the mutex: a race, whatever glib's mutex orders.
 * expect-race: read 8 glib_mutex_racy.c:16 / write 8 glib_mutex_racy.c:24
 * build-with: glib-2.0 */
#include <glib.h>
#include <stdio.h>

static GMutex lock;
static long value;
static volatile long sink;

static gpointer reader(gpointer data)
{
    (void)data;
    g_mutex_lock(&lock);
    sink = value;
    g_mutex_unlock(&lock);
    return NULL;
}

int main(void)
{
    GThread *t = g_thread_new("reader", reader, NULL);
    value = 3;
    g_thread_join(t);
    printf("done\n");
    return 0;
}
