/* two_races_two_functions.c: two unrelated races, each between its own pair
 * of functions (so each report's stacks, and a suppression generated from
 * either side, name only that race): set_width/get_width on `width`, and
 * set_height/get_height on `height`.
 * expect-race: write 4 two_races_two_functions.c:17 / read 4 two_races_two_functions.c:27
 * expect-race: write 8 two_races_two_functions.c:22 / read 8 two_races_two_functions.c:32 */
#include <pthread.h>
#include <stdio.h>

int width;
long height;
volatile int seen_width;
volatile long seen_height;

__attribute__((noinline)) static void set_width(int w)
{
    width = w;
}

__attribute__((noinline)) static void set_height(long h)
{
    height = h;
}

__attribute__((noinline)) static void get_width(void)
{
    seen_width = width;
}

__attribute__((noinline)) static void get_height(void)
{
    seen_height = height;
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
    get_width();
    get_height();
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
