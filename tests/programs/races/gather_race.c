/* gather_race.c: an AVX2 gather reads eight ints of a table while another
 * thread writes one of them: the gather's lane races with the write. The
 * gather's lanes are reported one element (4 bytes) at a time.
 * ThreadSanitizer does not instrument gathers.
 * expect-race: write 4 gather_race.c:26 / read 4 gather_race.c:17
 * tsan-expect: none */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>

int table[64];
volatile int sink;

__attribute__((target("avx2"))) static int gather_sum(const int *base)
{
    __m256i idx = _mm256_setr_epi32(0, 8, 16, 24, 32, 40, 48, 56);
    __m256i v = _mm256_i32gather_epi32(base, idx, 4);
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    return _mm_cvtsi128_si32(s) + _mm_extract_epi32(s, 1) + _mm_extract_epi32(s, 2) +
           _mm_extract_epi32(s, 3);
}

static void *writer(void *arg)
{
    (void)arg;
    table[40] = 7;
    return NULL;
}

int main(void)
{
    if (!__builtin_cpu_supports("avx2")) {
        printf("done\n");
        return 0;
    }
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    sink = gather_sum(table);
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
