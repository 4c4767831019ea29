/* Counting kernels for paramtui.analysis.stats.native, compiled on the user's machine at first use.
 *
 * torch has no fused reduction that gives a chunk's moments and a table of its bit patterns in one
 * read, and its bincount makes two extra passes (min, max) over the keys. These loops read each
 * value once. Results do not depend on the thread that runs them: every sum is accumulated in a
 * fixed order. Chunks passed here hold fewer than 2^31 values.
 *
 * Each loop asks for the data 2 KiB ahead of where it reads: the scattered table increments keep
 * the hardware prefetcher from keeping up on its own (measured: the table loops ran 1.8-2.4x
 * slower without it on the machines we benchmark on).
 */
#include <stdint.h>
#include <string.h>

#define AHEAD 2048 /* bytes */
#define PREFETCH(p) __builtin_prefetch((const char *)(p) + AHEAD)

typedef float f4 __attribute__((vector_size(16)));
typedef float f2 __attribute__((vector_size(8)));
typedef int32_t i4 __attribute__((vector_size(16)));
typedef double d2 __attribute__((vector_size(16)));
typedef int64_t l2 __attribute__((vector_size(16)));

/* Running sums of one lane group: four float32 values at a time, sums in float64. */
struct lanes {
    d2 sum[2], squares[2], magnitude[2];
    f4 lo, hi;
    i4 zeros;
};

static void lanes_start(struct lanes *g, float first) {
    memset(g, 0, sizeof *g);
    g->lo = (f4){first, first, first, first};
    g->hi = g->lo;
}

static inline f4 pick(i4 take, f4 a, f4 b) { return (f4)(((i4)a & take) | ((i4)b & ~take)); }

static inline void lanes_add(struct lanes *g, const float *x) {
    const l2 no_sign = {INT64_MAX, INT64_MAX};
    f4 v;
    f2 low, high;
    memcpy(&v, x, sizeof v);
    memcpy(&low, x, sizeof low);
    memcpy(&high, x + 2, sizeof high);
    g->lo = pick(v < g->lo, v, g->lo);
    g->hi = pick(v > g->hi, v, g->hi);
    g->zeros -= ((i4)v & 0x7FFFFFFF) == 0; /* a true comparison is -1 */
    d2 d[2] = {__builtin_convertvector(low, d2), __builtin_convertvector(high, d2)};
    for (int k = 0; k < 2; k++) {
        g->sum[k] += d[k];
        g->squares[k] += d[k] * d[k];
        g->magnitude[k] += (d2)((l2)d[k] & no_sign);
    }
}

/* float32 chunk: adds (top 16 bits ^ 0x8000) of every value to table (the keys of
 * stats.bits32) and writes out = {sum, sum of squares, sum |x|, min, max, zeros}.
 * NaN or Inf make the sums non-finite: the caller redoes such chunks another way. */
void f32_chunk(const float *x, int64_t n, int64_t *table, double *out) {
    const uint32_t *bits = (const uint32_t *)x;
    struct lanes g[2];
    float first = n ? x[0] : 0.0f;
    lanes_start(&g[0], first);
    lanes_start(&g[1], first);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        PREFETCH(x + i);
        lanes_add(&g[0], x + i);
        lanes_add(&g[1], x + i + 4);
        for (int k = 0; k < 8; k++) table[(bits[i + k] >> 16) ^ 0x8000u]++;
    }
    double sum = 0, squares = 0, magnitude = 0;
    float lo = first, hi = first;
    int64_t zeros = 0;
    for (; i < n; i++) {
        double d = x[i];
        sum += d;
        squares += d * d;
        magnitude += d < 0 ? -d : d;
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
        zeros += (bits[i] & 0x7FFFFFFFu) == 0;
        table[(bits[i] >> 16) ^ 0x8000u]++;
    }
    for (int j = 0; j < 2; j++) {
        for (int k = 0; k < 2; k++)
            for (int l = 0; l < 2; l++) {
                sum += g[j].sum[k][l];
                squares += g[j].squares[k][l];
                magnitude += g[j].magnitude[k][l];
            }
        for (int l = 0; l < 4; l++) {
            lo = g[j].lo[l] < lo ? g[j].lo[l] : lo;
            hi = g[j].hi[l] > hi ? g[j].hi[l] : hi;
            zeros += g[j].zeros[l];
        }
    }
    out[0] = sum;
    out[1] = squares;
    out[2] = magnitude;
    out[3] = lo;
    out[4] = hi;
    out[5] = (double)zeros;
}

/* Counts of each 16-bit pattern. */
void u16_table(const uint16_t *x, int64_t n, int64_t *table) {
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        PREFETCH(x + i);
        for (int k = 0; k < 32; k++) table[x[i + k]]++;
    }
    for (; i < n; i++) table[x[i]]++;
}

/* Counts of each byte. Eight partial tables, one per byte of a 64-bit word: neighbouring bytes
 * often repeat, and a single table would wait on its own previous increment. */
void u8_table(const uint8_t *x, int64_t n, int64_t *table) {
    uint32_t part[8][256];
    memset(part, 0, sizeof part);
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        PREFETCH(x + i);
        for (int k = 0; k < 64; k += 8) {
            uint64_t word;
            memcpy(&word, x + i + k, sizeof word);
            for (int b = 0; b < 8; b++) part[b][(word >> (8 * b)) & 0xFF]++;
        }
    }
    for (; i < n; i++) part[0][x[i]]++;
    for (int v = 0; v < 256; v++)
        for (int b = 0; b < 8; b++) table[v] += part[b][v];
}
