/* rep_string.c: the string instructions with and without rep prefixes:
 * rep movsb/movsq, rep stosb/stosq, forwards and (with DF set) backwards,
 * repe cmpsb and repne scasb, with counts including 0. A translator must
 * keep them restartable and leave RCX/RSI/RDI exactly as the CPU does. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint8_t src[1 << 16], dst[1 << 16];

static uint64_t checksum(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 1099511628211ull;
    }
    return h;
}

int main(void) {
    for (size_t i = 0; i < sizeof src; i++) {
        src[i] = (uint8_t)(i * 7 + (i >> 8));
    }
    uint64_t total = 0;
    for (size_t n = 0; n < 4096; n += 37) {
        void *d = dst + (n & 63), *s = src + (n & 31);
        size_t c = n;
        __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
        total += (uint64_t)((uint8_t *)d - dst) + c;
    }
    printf("movsb: %llu %llx\n", (unsigned long long)total, (unsigned long long)checksum(dst, 8192));

    {
        void *d = dst, *s = src + 8;
        size_t c = 4000;
        __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
        printf("movsq: rcx %zu, rdi advanced %td, %llx\n", c, (uint8_t *)d - dst,
               (unsigned long long)checksum(dst, 32000));
    }
    {
        /* Backwards overlapping copy with DF=1, as memmove does. */
        void *d = dst + 5000 + 999, *s = dst + 4990 + 999;
        size_t c = 1000;
        __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
        printf("movsb backwards: rdi %td, %llx\n", (uint8_t *)d - dst,
               (unsigned long long)checksum(dst, 8192));
    }
    {
        void *d = dst + 3;
        size_t c = 5555;
        __asm__ volatile("rep stosb" : "+D"(d), "+c"(c) : "a"(0xab) : "memory");
        void *q = dst + 8192;
        c = 999;
        __asm__ volatile("rep stosq" : "+D"(q), "+c"(c) : "a"(0x0102030405060708ull) : "memory");
        void *z = dst + 100;
        c = 0;
        __asm__ volatile("rep stosb" : "+D"(z), "+c"(c) : "a"(0) : "memory");
        printf("stos: %llx, zero-count rdi %td\n", (unsigned long long)checksum(dst, 16384),
               (uint8_t *)z - dst);
    }
    {
        memcpy(dst, src, 4096);
        dst[3001] ^= 1;
        void *a = src, *b = dst;
        size_t c = 4096;
        uint8_t equal_flag;
        __asm__ volatile("repe cmpsb\n\tsete %3"
                         : "+S"(a), "+D"(b), "+c"(c), "=r"(equal_flag)
                         :
                         : "memory", "cc");
        printf("cmpsb: stopped after %td, rcx %zu, equal %u\n", (uint8_t *)a - src, c, equal_flag);
    }
    {
        static const char text[] = "the quick brown fox jumps over the lazy dog";
        const void *p = text;
        size_t c = sizeof text;
        __asm__ volatile("repne scasb" : "+D"(p), "+c"(c) : "a"('z') : "memory", "cc");
        printf("scasb: found at %td, rcx %zu\n", (const char *)p - text - 1, c);
    }
    {
        /* Single (non-rep) lodsb/stosb with DF=1 then DF=0. */
        const void *s = src + 10;
        void *d = dst + 10;
        uint8_t last;
        __asm__ volatile("std\n\tlodsb\n\tstosb\n\tlodsb\n\tstosb\n\tcld\n\tlodsb"
                         : "+S"(s), "+D"(d), "=a"(last)
                         :
                         : "memory");
        printf("lods/stos: rsi %td rdi %td last %u\n", (const uint8_t *)s - src,
               (uint8_t *)d - dst, last);
    }
    return 0;
}
