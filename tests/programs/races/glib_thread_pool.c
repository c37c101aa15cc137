/* glib_thread_pool.c: a GThreadPool of two threads runs one job per
 * heap item; each job writes its own item, and main reads them all after
 * g_thread_pool_free(pool, FALSE, TRUE) has waited for every job. The pool
 * hands items over through a GAsyncQueue and its threads finish under
 * GMutex/GCond (glib.model). Race-free. ThreadSanitizer does not see the
 * uninstrumented glib's queue:
 * tsan-expect: race write 4 glib_thread_pool.c:30 / read 4 glib_thread_pool.c:22
 * tsan-expect: race write 4 glib_thread_pool.c:22 / read 4 glib_thread_pool.c:36
 * build-with: glib-2.0 */
#include <glib.h>
#include <stdio.h>

struct job {
    int input;
    int output;
};

static void run(gpointer data, gpointer user_data)
{
    struct job *j = data;
    (void)user_data;
    j->output = j->input * j->input;
}

int main(void)
{
    struct job jobs[16];
    GThreadPool *pool = g_thread_pool_new(run, NULL, 2, FALSE, NULL);
    for (int i = 0; i < 16; i++) {
        jobs[i].input = i;
        g_thread_pool_push(pool, &jobs[i], NULL);
    }
    g_thread_pool_free(pool, FALSE, TRUE);
    int sum = 0;
    for (int i = 0; i < 16; i++)
        sum += jobs[i].output;
    printf("%d\n", sum);
    return 0;
}
