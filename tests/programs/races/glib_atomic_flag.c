/* glib_atomic_flag.c: a GThread writes data and sets a flag with
 * g_atomic_int_set; main spins with g_atomic_int_get and reads the data,
 * and both count with g_atomic_int_inc. glib's atomic macros are GCC's
 * seq_cst __atomic builtins, inline in the program. Race-free.
 * build-with: glib-2.0 */
#include <glib.h>
#include <stdio.h>

static gint flag;
static gint count;
static int data[4];

static gpointer producer(gpointer unused)
{
    (void)unused;
    for (int i = 0; i < 4; i++)
        data[i] = i + 1;
    g_atomic_int_inc(&count);
    g_atomic_int_set(&flag, 1);
    return NULL;
}

int main(void)
{
    GThread *t = g_thread_new("producer", producer, NULL);
    while (!g_atomic_int_get(&flag))
        ;
    g_atomic_int_inc(&count);
    printf("%d %d\n", data[0] + data[3], g_atomic_int_get(&count));
    g_thread_join(t);
    return 0;
}
