/* avx512.c: AVX-512 loops (512-bit registers including zmm16-zmm31, opmask
 * registers, masked and compressing stores, mask-producing compares,
 * 512-bit gathers, ternary logic) when the CPU and OS support AVX-512F/BW/VL;
 * otherwise a scalar version of the same computation. Both print the same,
 * so the expected output does not depend on the machine. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>

enum { N = 1 << 20 };
static int32_t a[N], idx[N], kept[N];

struct result {
    uint64_t sum, gathered, compressed_count, compressed_hash, ternary, high_regs;
};

__attribute__((target("avx512f,avx512bw,avx512vl"), noinline)) static void avx512_kernels(struct result *r) {
    __m512i sum = _mm512_setzero_si512();
    __m512i gathered = _mm512_setzero_si512();
    __m512i tern = _mm512_set1_epi32(0x1234567);
    const __m512i threshold = _mm512_set1_epi32(1 << 20);
    size_t count = 0;
    for (int i = 0; i < N; i += 16) {
        __m512i v = _mm512_loadu_si512(a + i);
        __mmask16 big = _mm512_cmpgt_epi32_mask(v, threshold);
        sum = _mm512_mask_add_epi32(sum, big, sum, v);
        sum = _mm512_mask_sub_epi32(sum, (__mmask16)~big, sum, _mm512_srai_epi32(v, 4));
        _mm512_mask_compressstoreu_epi32(kept + count, big, v);
        count += (size_t)__builtin_popcount(big);
        __m512i vi = _mm512_loadu_si512(idx + i);
        gathered = _mm512_add_epi32(gathered, _mm512_i32gather_epi32(vi, a, 4));
        tern = _mm512_ternarylogic_epi32(tern, v, vi, 0x96); /* a ^ b ^ c */
        tern = _mm512_rol_epi32(tern, 5);
    }
    int32_t lanes[16];
    _mm512_storeu_si512(lanes, sum);
    r->sum = 0;
    for (int l = 0; l < 16; l++) {
        r->sum = r->sum * 1000003 + (uint32_t)lanes[l];
    }
    _mm512_storeu_si512(lanes, gathered);
    r->gathered = 0;
    for (int l = 0; l < 16; l++) {
        r->gathered = r->gathered * 1000003 + (uint32_t)lanes[l];
    }
    _mm512_storeu_si512(lanes, tern);
    r->ternary = 0;
    for (int l = 0; l < 16; l++) {
        r->ternary = r->ternary * 1000003 + (uint32_t)lanes[l];
    }
    r->compressed_count = count;
    uint64_t h = 0;
    for (size_t i = 0; i < count; i++) {
        h = h * 31 + (uint32_t)kept[i];
    }
    r->compressed_hash = h;

    /* Values parked in zmm16-zmm31 and k1-k7 across a loop of many blocks. */
    uint64_t out[8];
    __asm__ volatile(
        "vpbroadcastq %1, %%zmm16\n\t"
        "vpaddq %%zmm16, %%zmm16, %%zmm31\n\t"
        "movl $0xaa, %%eax\n\t"
        "kmovw %%eax, %%k7\n\t"
        "movl $1000, %%ecx\n"
        "1:\n\t"
        "vpaddq %%zmm16, %%zmm31, %%zmm31%{%%k7%}\n\t"
        "vpxorq %%zmm31, %%zmm16, %%zmm16\n\t"
        "decl %%ecx\n\t"
        "jnz 1b\n\t"
        "vpaddq %%zmm16, %%zmm31, %%zmm31\n\t"
        "vmovdqu64 %%zmm31, %0\n\t"
        : "=m"(out)
        : "r"((uint64_t)0x0123456789abcdefull)
        : "rax", "rcx", "k7", "xmm16", "xmm31", "memory", "cc");
    r->high_regs = 0;
    for (int l = 0; l < 8; l++) {
        r->high_regs = r->high_regs * 1000003 + out[l];
    }
}

static uint32_t rol32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void scalar_kernels(struct result *r) {
    uint32_t sum[16] = {0}, gathered[16] = {0}, tern[16];
    for (int l = 0; l < 16; l++) {
        tern[l] = 0x1234567;
    }
    size_t count = 0;
    for (int i = 0; i < N; i += 16) {
        for (int l = 0; l < 16; l++) {
            int32_t v = a[i + l];
            if (v > (1 << 20)) {
                sum[l] += (uint32_t)v;
                kept[count++] = v;
            } else {
                sum[l] -= (uint32_t)(v >> 4);
            }
            gathered[l] += (uint32_t)a[idx[i + l]];
            tern[l] = rol32(tern[l] ^ (uint32_t)v ^ (uint32_t)idx[i + l], 5);
        }
    }
    r->sum = r->gathered = r->ternary = 0;
    for (int l = 0; l < 16; l++) {
        r->sum = r->sum * 1000003 + sum[l];
        r->gathered = r->gathered * 1000003 + gathered[l];
        r->ternary = r->ternary * 1000003 + tern[l];
    }
    r->compressed_count = count;
    uint64_t h = 0;
    for (size_t i = 0; i < count; i++) {
        h = h * 31 + (uint32_t)kept[i];
    }
    r->compressed_hash = h;
    uint64_t z16[8], z31[8];
    for (int l = 0; l < 8; l++) {
        z16[l] = 0x0123456789abcdefull;
        z31[l] = 2 * z16[l];
    }
    for (int it = 0; it < 1000; it++) {
        for (int l = 0; l < 8; l++) {
            if ((0xaa >> l) & 1) {
                z31[l] += z16[l];
            }
            z16[l] ^= z31[l];
        }
    }
    r->high_regs = 0;
    for (int l = 0; l < 8; l++) {
        r->high_regs = r->high_regs * 1000003 + (z16[l] + z31[l]);
    }
}

int main(void) {
    uint32_t s = 7;
    for (int i = 0; i < N; i++) {
        s = s * 1664525 + 1013904223;
        a[i] = (int32_t)s >> 8;
        idx[i] = (int32_t)((s >> 5) % N);
    }
    struct result r;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl")) {
        avx512_kernels(&r);
    } else {
        scalar_kernels(&r);
    }
    printf("sum %llu\ngathered %llu\ncompressed %llu hash %llu\nternary %llu\nhigh registers %llu\n",
           (unsigned long long)r.sum, (unsigned long long)r.gathered,
           (unsigned long long)r.compressed_count, (unsigned long long)r.compressed_hash,
           (unsigned long long)r.ternary, (unsigned long long)r.high_regs);
    return 0;
}
