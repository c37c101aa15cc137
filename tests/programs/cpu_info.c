/* cpu_info.c: cpuid, xgetbv, rdtsc and rdtscp, printing only what does
 * not change between runs on one machine: vendor, brand, feature bits,
 * the enabled state components (XCR0), and that the time stamp counter
 * moves forward. Per-core values (APIC id, rdtscp's TSC_AUX) are left out. */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t rdtscp(void) {
    uint32_t lo, hi, aux;
    __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
    return ((uint64_t)hi << 32) | lo;
}

int main(void) {
    uint32_t r[4];
    cpuid(0, 0, r);
    char vendor[13];
    memcpy(vendor, &r[1], 4);
    memcpy(vendor + 4, &r[3], 4);
    memcpy(vendor + 8, &r[2], 4);
    vendor[12] = 0;
    uint32_t max_leaf = r[0];
    printf("vendor %s, max leaf %#x\n", vendor, max_leaf);

    cpuid(1, 0, r);
    printf("leaf 1: signature %#x, clflush %u, ecx %#x, edx %#x\n", r[0], (r[1] >> 8) & 0xff, r[2], r[3]);
    int osxsave = (r[2] >> 27) & 1;
    printf("sse2 %u sse4.2 %u avx %u osxsave %d\n", (r[3] >> 26) & 1, (r[2] >> 20) & 1, (r[2] >> 28) & 1, osxsave);

    if (max_leaf >= 7) {
        cpuid(7, 0, r);
        printf("leaf 7: ebx %#x, ecx %#x, edx %#x\n", r[1], r[2], r[3]);
        printf("avx2 %u bmi2 %u avx512f %u sha %u\n", (r[1] >> 5) & 1, (r[1] >> 8) & 1, (r[1] >> 16) & 1, (r[1] >> 29) & 1);
    }

    cpuid(0x80000000, 0, r);
    if (r[0] >= 0x80000004) {
        char brand[49];
        for (uint32_t i = 0; i < 3; i++) {
            cpuid(0x80000002 + i, 0, r);
            memcpy(brand + 16 * i, r, 16);
        }
        brand[48] = 0;
        printf("brand %s\n", brand);
    }

    if (osxsave) {
        uint32_t lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        printf("xcr0 %#llx\n", (unsigned long long)(((uint64_t)hi << 32) | lo));
    }

    uint64_t forward = 0;
    uint64_t prev = rdtsc();
    for (int i = 0; i < 1000; i++) {
        uint64_t now = (i & 1) ? rdtsc() : rdtscp();
        forward += now > prev;
        prev = now;
    }
    printf("tsc moved forward %llu of 1000 times\n", (unsigned long long)forward);
    return 0;
}
