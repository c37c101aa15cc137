/* indirect_calls.c: calls through function-pointer tables, a C "vtable",
 * callbacks from libc (qsort, bsearch), and PLT calls into libc/libm, so
 * indirect-branch lookup and returns to translated call sites are
 * exercised many times with changing targets. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int64_t (*op_fn)(int64_t, int64_t);
static int64_t op_add(int64_t a, int64_t b) { return a + b; }
static int64_t op_sub(int64_t a, int64_t b) { return a - b; }
static int64_t op_mul(int64_t a, int64_t b) { return (a * b) % 1000000007; }
static int64_t op_xor(int64_t a, int64_t b) { return a ^ b; }
static int64_t op_max(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t op_rot(int64_t a, int64_t b) { return (int64_t)(((uint64_t)a << (b & 31)) | ((uint64_t)a >> (64 - (b & 31) - 1) >> 1)); }
static op_fn const ops[] = {op_add, op_sub, op_mul, op_xor, op_max, op_rot};

struct shape;
struct shape_vtable {
    double (*area)(const struct shape *);
    const char *(*name)(const struct shape *);
};
struct shape {
    const struct shape_vtable *vt;
    double a, b;
};
static double rect_area(const struct shape *s) { return s->a * s->b; }
static const char *rect_name(const struct shape *s) { (void)s; return "rect"; }
static double tri_area(const struct shape *s) { return s->a * s->b / 2; }
static const char *tri_name(const struct shape *s) { (void)s; return "triangle"; }
static double circle_area(const struct shape *s) { return s->a * s->a * 3.0; }
static const char *circle_name(const struct shape *s) { (void)s; return "circle"; }
static const struct shape_vtable vt_rect = {rect_area, rect_name};
static const struct shape_vtable vt_tri = {tri_area, tri_name};
static const struct shape_vtable vt_circle = {circle_area, circle_name};

static int compare_desc(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a < b) - (a > b);
}

int main(void) {
    int64_t acc = 1;
    uint64_t seed = 12345;
    unsigned counts[6] = {0};
    for (int i = 0; i < 3000000; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        unsigned k = (unsigned)(seed >> 33) % 6;
        counts[k]++;
        acc = ops[k](acc, (int64_t)(seed >> 40));
    }
    printf("acc %lld\n", (long long)acc);
    for (int k = 0; k < 6; k++) {
        printf("op %d called %u times\n", k, counts[k]);
    }

    struct shape shapes[30];
    const struct shape_vtable *vts[] = {&vt_rect, &vt_tri, &vt_circle};
    for (int i = 0; i < 30; i++) {
        shapes[i] = (struct shape){vts[i % 3], i + 1.0, 2.0 * i + 0.5};
    }
    double total = 0;
    size_t name_chars = 0;
    for (int round = 0; round < 10000; round++) {
        for (int i = 0; i < 30; i++) {
            total += shapes[i].vt->area(&shapes[i]);
            name_chars += strlen(shapes[i].vt->name(&shapes[i]));
        }
    }
    printf("total area %.1f, name chars %zu\n", total, name_chars);

    enum { N = 200000 };
    uint32_t *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++) {
        seed = seed * 6364136223846793005ull + 1;
        v[i] = (uint32_t)(seed >> 32);
    }
    qsort(v, N, sizeof *v, compare_desc);
    uint64_t check = 0;
    for (int i = 0; i < N; i++) {
        check = check * 31 + v[i];
    }
    uint32_t key = v[N / 3];
    uint32_t *found = bsearch(&key, v, N, sizeof *v, compare_desc);
    printf("sorted check %llu, found at %td\n", (unsigned long long)check, found ? found - v : -1);
    free(v);

    double (*volatile fns[])(double) = {sqrt, sin, cos, exp, log1p};
    double m = 0;
    for (int i = 1; i <= 100000; i++) {
        m += fns[i % 5](i * 0.0001);
    }
    printf("libm sum %.6f\n", m);
    return 0;
}
