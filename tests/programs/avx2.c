/* avx2.c: AVX2 and FMA loops (256-bit integer arithmetic, shuffles,
 * permutes, gathers, masked loads and stores, fused multiply-add) whose
 * results are printed. Every value is exact, so a scalar fallback, used
 * only on a CPU without AVX2, prints the same. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>

enum { N = 1 << 20 };
static int32_t a[N], b[N], idx[N];
static float x[N], y[N];

__attribute__((target("avx2,fma"), noinline)) static void avx2_kernels(uint64_t out[4]) {
    __m256i acc = _mm256_setzero_si256();
    __m256i gathered = _mm256_setzero_si256();
    const __m256i rotate = _mm256_setr_epi32(7, 0, 1, 2, 3, 4, 5, 6);
    const __m256i shuffle = _mm256_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
                                             3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
    for (int i = 0; i < N; i += 8) {
        __m256i va = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i vb = _mm256_loadu_si256((const __m256i *)(b + i));
        __m256i prod = _mm256_mullo_epi32(va, vb);
        prod = _mm256_permutevar8x32_epi32(prod, rotate);
        prod = _mm256_shuffle_epi8(prod, shuffle);
        acc = _mm256_xor_si256(_mm256_add_epi32(acc, prod), _mm256_srli_epi32(acc, 3));
        __m256i vi = _mm256_loadu_si256((const __m256i *)(idx + i));
        gathered = _mm256_add_epi32(gathered, _mm256_i32gather_epi32(a, vi, 4));
    }
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, acc);
    uint64_t h = 0;
    for (int i = 0; i < 8; i++) {
        h = h * 1000003 + (uint32_t)lanes[i];
    }
    out[0] = h;
    _mm256_storeu_si256((__m256i *)lanes, gathered);
    h = 0;
    for (int i = 0; i < 8; i++) {
        h = h * 1000003 + (uint32_t)lanes[i];
    }
    out[1] = h;

    __m256 dot = _mm256_setzero_ps();
    for (int i = 0; i < N; i += 8) {
        dot = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), dot);
    }
    float d[8];
    _mm256_storeu_ps(d, dot);
    out[2] = 0;
    for (int i = 0; i < 8; i++) {
        out[2] += (uint64_t)d[i];
    }

    /* Masked tail: load and store only the first 5 lanes of a 13-element window. */
    uint64_t masked = 0;
    const __m256i mask = _mm256_setr_epi32(-1, -1, -1, -1, -1, 0, 0, 0);
    for (int i = 0; i + 16 <= N; i += 4099) {
        __m256i v = _mm256_maskload_epi32(a + i, mask);
        v = _mm256_add_epi32(v, _mm256_set1_epi32(1));
        _mm256_maskstore_epi32(b + i, mask, v);
        masked += (uint32_t)b[i + 4] + (uint32_t)b[i + 5];
    }
    out[3] = masked;
}

static void scalar_kernels(uint64_t out[4]) {
    static const int rotate[8] = {7, 0, 1, 2, 3, 4, 5, 6};
    uint32_t acc[8] = {0}, gathered[8] = {0};
    for (int i = 0; i < N; i += 8) {
        uint32_t prod[8], permuted[8];
        for (int l = 0; l < 8; l++) {
            prod[l] = (uint32_t)a[i + l] * (uint32_t)b[i + l];
        }
        for (int l = 0; l < 8; l++) {
            permuted[l] = __builtin_bswap32(prod[rotate[l]]);
        }
        for (int l = 0; l < 8; l++) {
            acc[l] = (acc[l] + permuted[l]) ^ (acc[l] >> 3);
            gathered[l] += (uint32_t)a[idx[i + l]];
        }
    }
    uint64_t h = 0;
    for (int l = 0; l < 8; l++) {
        h = h * 1000003 + acc[l];
    }
    out[0] = h;
    h = 0;
    for (int l = 0; l < 8; l++) {
        h = h * 1000003 + gathered[l];
    }
    out[1] = h;
    float d[8] = {0};
    for (int i = 0; i < N; i += 8) {
        for (int l = 0; l < 8; l++) {
            d[l] += x[i + l] * y[i + l];
        }
    }
    out[2] = 0;
    for (int l = 0; l < 8; l++) {
        out[2] += (uint64_t)d[l];
    }
    uint64_t masked = 0;
    for (int i = 0; i + 16 <= N; i += 4099) {
        for (int l = 0; l < 5; l++) {
            b[i + l] = a[i + l] + 1;
        }
        masked += (uint32_t)b[i + 4] + (uint32_t)b[i + 5];
    }
    out[3] = masked;
}

int main(void) {
    uint32_t s = 1;
    for (int i = 0; i < N; i++) {
        s = s * 1664525 + 1013904223;
        a[i] = (int32_t)s;
        b[i] = (int32_t)(s >> 7);
        idx[i] = (int32_t)((s >> 9) % N);
        /* Small integers: every product and partial sum stays exact in float. */
        x[i] = (float)(i % 5);
        y[i] = (float)((i >> 3) % 3);
    }
    uint64_t out[4];
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        avx2_kernels(out);
    } else {
        scalar_kernels(out);
    }
    printf("mix %llu\ngather %llu\ndot %llu\nmasked %llu\n", (unsigned long long)out[0],
           (unsigned long long)out[1], (unsigned long long)out[2], (unsigned long long)out[3]);
    return 0;
}
