/* glib_async_queue_once.c: workers take heap items from a GAsyncQueue
 * (g_async_queue_push releases on the queue, a pop acquires) and each looks
 * up a table initialised once with g_once_init_enter/leave (the first caller
 * fills it, the others wait or see it set), guarded by a GRWLock for a
 * statistic. Nothing races. ThreadSanitizer sees none of glib's futex
 * synchronisation (glib is not built with it): it reports the queue's
 * hand-offs (an item against its malloc) and the once-initialised table:
 * tsan-expect: race read 4 glib_async_queue_once.c:42 / write 8 glib_async_queue_once.c:62
 * tsan-expect: race read 4 glib_async_queue_once.c:46 / write 4 glib_async_queue_once.c:29
 * tsan-expect: race read 8 glib_async_queue_once.c:33 / write 8 glib_async_queue_once.c:30
 * build-with: glib-2.0 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#define ITEMS 64

static int table_storage[16];
static int *table;
static GRWLock stats_lock;
static long hits;

static int *get_table(void)
{
    static gsize once;
    if (g_once_init_enter(&once)) {
        int *t = table_storage;
        for (int i = 0; i < 16; i++)
            t[i] = i * 3;
        table = t;
        g_once_init_leave(&once, 1);
    }
    return table;
}

static gpointer worker(gpointer arg)
{
    GAsyncQueue *queue = arg;
    long sum = 0;
    for (;;) {
        int *item = g_async_queue_pop(queue);
        if (*item < 0) {
            free(item);
            break;
        }
        sum += get_table()[*item % 16];
        free(item);
        g_rw_lock_writer_lock(&stats_lock);
        hits++;
        g_rw_lock_writer_unlock(&stats_lock);
    }
    return (gpointer)sum;
}

int main(void)
{
    GAsyncQueue *queue = g_async_queue_new();
    g_rw_lock_init(&stats_lock);
    GThread *a = g_thread_new("a", worker, queue);
    GThread *b = g_thread_new("b", worker, queue);
    for (int i = 0; i < ITEMS + 2; i++) {
        int *item = malloc(sizeof *item);
        *item = i < ITEMS ? i : -1;
        g_async_queue_push(queue, item);
    }
    long sum = (long)g_thread_join(a) + (long)g_thread_join(b);
    g_rw_lock_reader_lock(&stats_lock);
    long seen = hits;
    g_rw_lock_reader_unlock(&stats_lock);
    g_async_queue_unref(queue);
    g_rw_lock_clear(&stats_lock);
    printf("%ld %ld\n", sum, seen);
    return 0;
}
