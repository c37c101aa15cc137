/* glib_rec_mutex.c: a recursive GRecMutex taken twice by the same thread
 * (an outer function calling an inner one that locks again) in two
 * GThreads bumping a counter. Race-free.
 * build-with: glib-2.0 */
#include <glib.h>
#include <stdio.h>

static GRecMutex lock;
static long counter;

static void bump(void)
{
    g_rec_mutex_lock(&lock);
    counter++;
    g_rec_mutex_unlock(&lock);
}

static gpointer worker(gpointer data)
{
    (void)data;
    for (int i = 0; i < 500; i++) {
        g_rec_mutex_lock(&lock);
        bump();
        counter++;
        g_rec_mutex_unlock(&lock);
    }
    return NULL;
}

int main(void)
{
    g_rec_mutex_init(&lock);
    GThread *a = g_thread_new("a", worker, NULL);
    GThread *b = g_thread_new("b", worker, NULL);
    g_thread_join(a);
    g_thread_join(b);
    g_rec_mutex_clear(&lock);
    printf("%ld\n", counter);
    return 0;
}
