/*
 * A stand-in for Xen's sample producer, used by xprof's tests: lays out per-VCPU Xenoprof buffers with
 * C structs mirroring Xen's public header (xen/include/public/xenoprof.h) and fills them with Xen's own
 * rules (one free slot, lost_samples on a full ring, escape + TRACE_BEGIN for backtraces), while a
 * "dom0 driver" drains them between snapshots. Writes a capture folder (capture.json, domN.rings) and a
 * log of every sample that made it into a ring, so a decoder can be checked entry for entry.
 *
 * usage: xenoprof_writer OUTDIR      (writes OUTDIR/capture.json, OUTDIR/dom*.rings, OUTDIR/expected.log)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XENOPROF_ESCAPE_CODE (~0ULL)
#define XENOPROF_TRACE_BEGIN 1

struct event_log {            /* x86_64: 16 bytes */
    uint64_t eip;
    uint8_t mode;
    uint8_t event;
};

struct compat_event_log {     /* 32-bit guests: uint64_t is 4-byte aligned, so 12 bytes */
    uint64_t eip;
    uint8_t mode;
    uint8_t event;
} __attribute__((packed, aligned(4)));

struct xenoprof_buf {
    uint32_t event_head;
    uint32_t event_tail;
    uint32_t event_size;
    uint32_t vcpu_id;
    uint64_t xen_samples;
    uint64_t kernel_samples;
    uint64_t user_samples;
    uint64_t lost_samples;
    struct event_log event_log[1];
};

struct compat_xenoprof_buf {
    uint32_t event_head;
    uint32_t event_tail;
    uint32_t event_size;
    uint32_t vcpu_id;
    uint64_t xen_samples;
    uint64_t kernel_samples;
    uint64_t user_samples;
    uint64_t lost_samples;
    struct compat_event_log event_log[1];
} __attribute__((packed, aligned(4)));   /* as on i386: 60 bytes, stride 48 + n * 12 */

_Static_assert(sizeof(struct event_log) == 16, "event_log");
_Static_assert(sizeof(struct compat_event_log) == 12, "compat event_log");
_Static_assert(offsetof(struct xenoprof_buf, event_log) == 48, "header");
_Static_assert(offsetof(struct compat_xenoprof_buf, event_log) == 48, "compat header");
_Static_assert(sizeof(struct compat_xenoprof_buf) == 60, "compat buffer");

struct domain {
    int id, vcpus, max_samples, compat;
    uint64_t escape;
    size_t stride;
    unsigned char *mem;        /* vcpus buffers, each `stride` bytes */
    FILE *rings;
    uint64_t lost;
};

static FILE *logf;

static struct xenoprof_buf *buf64(struct domain *d, int v) { return (struct xenoprof_buf *)(d->mem + v * d->stride); }
static struct compat_xenoprof_buf *buf32(struct domain *d, int v) { return (struct compat_xenoprof_buf *)(d->mem + v * d->stride); }

/* Header fields are at the same offsets in both layouts. */
static struct xenoprof_buf *hdr(struct domain *d, int v) { return buf64(d, v); }

static void init_domain(struct domain *d, int id, int vcpus, int max_samples, int compat, const char *dir) {
    d->id = id; d->vcpus = vcpus; d->max_samples = max_samples; d->compat = compat;
    d->escape = compat ? 0xFFFFFFFFull : XENOPROF_ESCAPE_CODE;
    d->stride = compat ? sizeof(struct compat_xenoprof_buf) + (max_samples - 1) * sizeof(struct compat_event_log)
                       : sizeof(struct xenoprof_buf) + (max_samples - 1) * sizeof(struct event_log);
    d->mem = calloc(vcpus, d->stride);
    for (int v = 0; v < vcpus; v++) {
        hdr(d, v)->event_size = max_samples;
        /* Buffers sit in the file in reverse order: a reader must go by vcpu_id, not position. */
        hdr(d, v)->vcpu_id = vcpus - 1 - v;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/dom%d.rings", dir, id);
    d->rings = fopen(path, "wb");
    d->lost = 0;
}

static int find(struct domain *d, int vcpu) {
    for (int v = 0; v < d->vcpus; v++) if ((int)hdr(d, v)->vcpu_id == vcpu) return v;
    abort();
}

static int space(struct xenoprof_buf *b) {
    int head = b->event_head, tail = b->event_tail, size = b->event_size;
    return ((tail > head) ? 0 : size) + tail - head - 1;
}

static void put(struct domain *d, int v, uint64_t eip, int mode, int event) {
    struct xenoprof_buf *b = hdr(d, v);
    if (d->compat) {
        buf32(d, v)->event_log[b->event_head].eip = eip;
        buf32(d, v)->event_log[b->event_head].mode = mode;
        buf32(d, v)->event_log[b->event_head].event = event;
    } else {
        buf64(d, v)->event_log[b->event_head].eip = eip;
        buf64(d, v)->event_log[b->event_head].mode = mode;
        buf64(d, v)->event_log[b->event_head].event = event;
    }
    b->event_head = (b->event_head + 1) % b->event_size;
}

static void count(struct xenoprof_buf *b, int mode) {
    if (mode == 0) b->user_samples++;
    else if (mode == 1) b->kernel_samples++;
    else b->xen_samples++;
}

/* One sample, as Xen's xenoprof_log_event: lost when the ring has no free slot (one is always kept). */
static void sample(struct domain *d, int vcpu, uint64_t eip, int mode, int event) {
    int v = find(d, vcpu);
    struct xenoprof_buf *b = hdr(d, v);
    if (space(b) < 1) { b->lost_samples++; d->lost++; return; }
    put(d, v, eip, mode, event);
    count(b, mode);
    fprintf(logf, "sample %d %d %d %llx %d\n", d->id, vcpu, mode, (unsigned long long)eip, event);
}

/* A sample with its backtrace: escape/TRACE_BEGIN, the pc, then caller frames with event 0. */
static void traced(struct domain *d, int vcpu, uint64_t eip, int mode, int event, const uint64_t *callers, int n) {
    int v = find(d, vcpu);
    struct xenoprof_buf *b = hdr(d, v);
    if (space(b) < 2 + n) { b->lost_samples++; d->lost++; return; }
    put(d, v, d->escape, mode, XENOPROF_TRACE_BEGIN);
    put(d, v, eip, mode, event);
    for (int i = 0; i < n; i++) put(d, v, callers[i], mode, 0);
    count(b, mode);
    fprintf(logf, "sample %d %d %d %llx %d\n", d->id, vcpu, mode, (unsigned long long)eip, event);
    fprintf(logf, "trace %d %d %llx", d->id, vcpu, (unsigned long long)eip);
    for (int i = 0; i < n; i++) fprintf(logf, " %llx", (unsigned long long)callers[i]);
    fprintf(logf, "\n");
}

/* The dom0 driver's turn: the capture records the buffers as they are, then everything is consumed. */
static void snapshot(struct domain *d) {
    fwrite(d->mem, d->stride, d->vcpus, d->rings);
    for (int v = 0; v < d->vcpus; v++) hdr(d, v)->event_tail = hdr(d, v)->event_head;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s OUTDIR\n", argv[0]); return 64; }
    const char *dir = argv[1];
    char path[4096];
    snprintf(path, sizeof path, "%s/expected.log", dir);
    logf = fopen(path, "w");
    struct domain d0, d2, d3;
    init_domain(&d0, 0, 2, 16, 0, dir);    /* dom0: active, small rings that wrap */
    init_domain(&d2, 2, 2, 64, 0, dir);    /* guest 2: passive, traced samples and a ring that fills */
    init_domain(&d3, 3, 1, 8, 1, dir);     /* guest 3: 32-bit compat layout */
    uint64_t xen = 0xffff82d040200000ull, kern = 0xffffffff81000000ull, user = 0x400000ull;
    for (int round = 0; round < 6; round++) {
        /* dom0: 10 per vcpu per round in a 16-slot ring: head/tail walk around and wrap. */
        for (int i = 0; i < 10; i++)
            for (int vc = 0; vc < 2; vc++) {
                int mode = (int)(next() % 3);
                uint64_t base = mode == 2 ? xen : mode == 1 ? kern : user;
                sample(&d0, vc, base + (next() % 64) * 16, mode, 0);
            }
        /* guest 2: traced samples; in round 3 far more than fit, so the ring fills and samples are lost. */
        int n2 = round == 3 ? 40 : 6;
        for (int i = 0; i < n2; i++) {
            uint64_t callers[3] = { kern + 0x1000 + (next() % 8) * 32, kern + 0x2000, kern + 0x3000 };
            int mode = (int)(next() % 3);
            uint64_t base = mode == 2 ? xen : mode == 1 ? kern : user;
            traced(&d2, i % 2, base + (next() % 32) * 8, mode, (int)(next() % 2), callers, 1 + (int)(next() % 3));
        }
        /* guest 3 (compat): 5 per round in an 8-slot ring, one round overflowing it. */
        int n3 = round == 4 ? 12 : 5;
        for (int i = 0; i < n3; i++) {
            int mode = (int)(next() % 3);
            uint64_t base = mode == 2 ? 0xff100000ull : mode == 1 ? 0xc0100000ull : 0x08048000ull;
            sample(&d3, 0, base + (next() % 16) * 4, mode, 0);
        }
        snapshot(&d0); snapshot(&d2); snapshot(&d3);
    }
    fprintf(logf, "lost 0 %llu\nlost 2 %llu\nlost 3 %llu\n", (unsigned long long)d0.lost,
            (unsigned long long)d2.lost, (unsigned long long)d3.lost);
    fclose(logf);
    fclose(d0.rings); fclose(d2.rings); fclose(d3.rings);
    snprintf(path, sizeof path, "%s/capture.json", dir);
    FILE *j = fopen(path, "w");
    fprintf(j, "{\"format\": \"xenoprof-capture\", \"version\": 1, \"xen_version\": \"4.17.5\", \"word_size\": 64,\n"
               " \"cpu_type\": \"x86-64/generic\", \"pcpus\": 4, \"synthetic\": \"written by Fixtures/xenoprof/xenoprof_writer.c\",\n"
               " \"events\": [{\"name\": \"CPU_CLK_UNHALTED\", \"count\": 100000, \"unit_mask\": 0},\n"
               "            {\"name\": \"DTLB_MISSES\", \"count\": 5000, \"unit_mask\": 0}],\n"
               " \"domains\": [{\"id\": 0, \"name\": \"Domain-0\", \"role\": \"active\", \"vcpus\": 2, \"max_samples\": 16, \"rings\": \"dom0.rings\", \"snapshots\": 6},\n"
               "             {\"id\": 2, \"name\": \"guest2\", \"role\": \"passive\", \"vcpus\": 2, \"max_samples\": 64, \"rings\": \"dom2.rings\", \"snapshots\": 6},\n"
               "             {\"id\": 3, \"name\": \"guest3-32bit\", \"role\": \"passive\", \"vcpus\": 1, \"max_samples\": 8, \"rings\": \"dom3.rings\", \"word_size\": 32, \"escape\": \"0xFFFFFFFF\", \"snapshots\": 6}]}\n");
    fclose(j);
    return 0;
}
