/* glib_queue_racy.c: a worker GThread writes a global under a GMutex, main
 * writes it without taking the lock before joining: a lock held by one side
 * only orders nothing, and the glib model must not hide that.
 * build-with: glib-2.0
 * expect-race: write 4 glib_queue_racy.c:16 / write 4 glib_queue_racy.c:24 */
#include <glib.h>
#include <stdio.h>

static GMutex lock;
int shared;

static gpointer worker(gpointer arg)
{
    (void)arg;
    g_mutex_lock(&lock);
    shared = 1;
    g_mutex_unlock(&lock);
    return NULL;
}

int main(void)
{
    GThread *t = g_thread_new("worker", worker, NULL);
    shared = 2;
    g_thread_join(t);
    printf("done\n");
    return 0;
}
