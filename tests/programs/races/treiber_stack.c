/* treiber_stack.c: a lock-free stack (Treiber's): two producers push nodes
 * from their own pools with a compare-and-swap loop on the top pointer (the
 * node is filled and linked before the CAS publishes it), and a consumer
 * pops them with another CAS loop and reads their payload. Nodes are never
 * reused, so there is no ABA. Race-free. */
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
        pool[i].payload = i + 1;
        push(&pool[i]);
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
    printf("sum %ld\n", sum);
    return 0;
}
