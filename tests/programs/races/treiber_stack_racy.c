/* treiber_stack_racy.c: the lock-free stack of treiber_stack.c, but the
 * producers set a node's payload after the CAS that publishes it, so the
 * consumer's read of the payload of a popped node races with that store.
 * expect-race: write 8 treiber_stack_racy.c:41 / read 8 treiber_stack_racy.c:58 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

enum { PER_PRODUCER = 200 };

struct node {
    long payload;
    struct node *next;
};

static struct node pools[2][PER_PRODUCER];
static _Atomic(struct node *) top;

static void push(struct node *n)
{
    struct node *old = atomic_load(&top);
    do
        n->next = old;
    while (!atomic_compare_exchange_weak(&top, &old, n));
}

static struct node *pop(void)
{
    struct node *old = atomic_load(&top);
    while (old && !atomic_compare_exchange_weak(&top, &old, old->next))
        ;
    return old;
}

static void *producer(void *arg)
{
    struct node *pool = pools[(long)arg];
    for (int i = 0; i < PER_PRODUCER; i++) {
        push(&pool[i]);
        pool[i].payload = i + 1;
    }
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    long sum = 0;
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, producer, (void *)i);
    for (int popped = 0; popped < 2 * PER_PRODUCER;) {
        struct node *n = pop();
        if (!n) {
            sched_yield();
            continue;
        }
        sum += n->payload;
        popped++;
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("done %d\n", sum > 0); /* the sum itself depends on the race */
    return 0;
}
