/* two_races_two_functions.c: two unrelated races, each between its own pair
 * of functions (so each report's stacks, and a suppression generated from
 * either side, name only that race): set_width/get_width on `width`, and
 * set_height/get_height on `height`.
 * expect-race: write 4 two_races_two_functions.c:15 / read 4 two_races_two_functions.c:25
 * expect-race: write 8 two_races_two_functions.c:20 / read 8 two_races_two_functions.c:30 */
#include <pthread.h>
#include <stdio.h>

int width;
long height;

__attribute__((noinline)) static void set_width(int w)
{
    width = w;
}

__attribute__((noinline)) static void set_height(long h)
{
    height = h;
}

__attribute__((noinline)) static int get_width(void)
{
    return width;
}

__attribute__((noinline)) static long get_height(void)
{
    return height;
}

static void *worker(void *arg)
{
    (void)arg;
    set_width(640);
    set_height(480);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    int w = get_width();
    long h = get_height();
    pthread_join(t, NULL);
    printf("done %d\n", w + (int)h >= 0);
    return 0;
}
