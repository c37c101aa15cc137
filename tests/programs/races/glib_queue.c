/* glib_queue.c: a producer hands heap items to a consumer through a queue
 * guarded by a GMutex and a GCond (the consumer waits in a loop); the
 * consumer reads each item's fields the producer wrote before the push. glib
 * implements GMutex and GCond with futexes, not pthreads: hbgrind orders
 * them by its glib model (lockmodels/models/glib.model). Threads are
 * GThreads, joined with g_thread_join. ThreadSanitizer does not see glib's
 * futex mutex and condvar (glib is not built with it), so it reports the
 * queue's hand-offs as races (the last against malloc's write of the block):
 * tsan-expect: race read 4 glib_queue.c:49 / write 4 glib_queue.c:37
 * tsan-expect: race read 8 glib_queue.c:51 / write 8 glib_queue.c:37
 * tsan-expect: race read 4 glib_queue.c:53 / write 8 glib_queue.c:33
 * build-with: glib-2.0 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#define ITEMS 100

struct item {
    int value;
    int square;
};

static GMutex lock;
static GCond nonempty;
static struct item *queue[ITEMS];
static int head, tail;

static gpointer producer(gpointer arg)
{
    (void)arg;
    for (int i = 0; i < ITEMS; i++) {
        struct item *it = malloc(sizeof *it);
        it->value = i;
        it->square = i * i;
        g_mutex_lock(&lock);
        queue[tail++] = it;
        g_cond_signal(&nonempty);
        g_mutex_unlock(&lock);
    }
    return NULL;
}

static gpointer consumer(gpointer arg)
{
    long sum = 0;
    for (int i = 0; i < ITEMS; i++) {
        g_mutex_lock(&lock);
        while (head == tail)
            g_cond_wait(&nonempty, &lock);
        struct item *it = queue[head++];
        g_mutex_unlock(&lock);
        sum += it->value + it->square;
        free(it);
    }
    *(long *)arg = sum;
    return NULL;
}

int main(void)
{
    long sum = 0;
    GThread *c = g_thread_new("consumer", consumer, &sum);
    GThread *p = g_thread_new("producer", producer, NULL);
    g_thread_join(p);
    g_thread_join(c);
    printf("%ld\n", sum);
    return 0;
}
