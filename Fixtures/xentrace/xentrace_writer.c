/*
 * xentrace_writer — writes a SYNTHETIC xentrace file the way Xen's `xentrace` daemon lays one out, for tests
 * of xprof's xentrace reader (compared with Xen's own `xenalyze`). The record layouts are those of Xen's public
 * header `trace.h` (facts: event numbers, bit fields, payload words); the code is this project's own.
 *
 * A small scheduler is simulated in cycle time on P physical CPUs: dom0 (PV, up to 4 vCPUs), dom1 (HVM, 64-bit,
 * 2 vCPUs), dom2 (HVM, 32-bit exits, 1 vCPU), dom3 (PV, 1 vCPU) and the idle domain (32767, one vCPU per
 * physical CPU). At each scheduling point a physical CPU writes what Xen's schedule() writes: SWITCH_INFPREV,
 * SWITCH_INFNEXT, the runstate changes of the previous and next vCPU, SWITCH (or SWITCH_INFCONT and
 * CONTINUE_RUNNING when it keeps the same vCPU). Blocked vCPUs wake later (a blocked->runnable change). While an
 * HVM vCPU runs it exits to Xen now and then: VMX_EXIT64 / VMX_EXIT (SVM_EXIT64 / SVM_EXIT with --svm) with a
 * reason and the guest RIP, a handler record without a TSC, then VMENTRY.
 *
 * Options:
 *   -o FILE       output (required)
 *   -p N          physical CPUs (default 2)
 *   -s SEED       random seed (default 1)
 *   -t MS         simulated milliseconds at 2.4 GHz (default 200)
 *   -l N          N episodes of lost records (records dropped for a while, then a TRC_LOST_RECORDS)
 *   -w BYTES      most bytes of one CPU's records per window (default 4096: many interleaved windows)
 *   -r FILE       guest RIPs to exit at, one hex address per line (default: a built-in set)
 *   --svm         AMD SVM exit records and exit codes instead of Intel VMX
 *   --wrap        put a wrap padding record (TRC_TRACE_WRAP_BUFFER) into each CPU's stream now and then
 *
 * Build: gcc -O2 -Wall -Werror -o xentrace_writer xentrace_writer.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Event numbers (trace.h). */
enum {
    EV_LOST_RECORDS = 0x0001f001,
    EV_WRAP_BUFFER = 0x0001f002,
    EV_CPU_CHANGE = 0x0001f003,
    EV_RUNSTATE_CHANGE = 0x00021001,   /* | old << 8 | new << 4 */
    EV_CONTINUE_RUNNING = 0x00021002,
    EV_SWITCH = 0x0002800a,
    EV_SWITCH_INFPREV = 0x0002800e,
    EV_SWITCH_INFNEXT = 0x0002800f,
    EV_SWITCH_INFCONT = 0x00028011,
    EV_HVM_VMENTRY = 0x00081001,
    EV_HVM_VMX_EXIT = 0x00081002,
    EV_HVM_SVM_EXIT = 0x00081003,
    FLAG_64 = 0x100,
    EV_HVM_CPUID = 0x0008200e,
    EV_HVM_HLT = 0x00082013,
    EV_HVM_INTR = 0x0008200f,
};
enum { RS_RUNNING = 0, RS_RUNNABLE = 1, RS_BLOCKED = 2 };
#define IDLE_DOMAIN 32767
#define HZ 2400000000ull

/* One physical CPU's records, built in memory, written in windows at the end. */
struct stream { uint8_t *bytes; size_t len, cap; uint64_t last_tsc; int dropping; uint32_t dropped; uint64_t drop_from; };
struct vcpu { int dom, vid, hvm, x32; int state; int pcpu; uint64_t wake_at; };

static struct stream *streams;
static struct vcpu vcpus[64];
static int nvcpus;
static int npcpus = 2;
static int svm;
static uint64_t rips[256];
static int nrips;

static uint64_t rng_state = 1;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return rng_state;
}
static uint64_t between(uint64_t lo, uint64_t hi) { return lo + rnd() % (hi - lo + 1); }

static void put32(struct stream *s, uint32_t v) {
    if (s->len + 4 > s->cap) {
        s->cap = s->cap ? s->cap * 2 : 65536;
        s->bytes = realloc(s->bytes, s->cap);
        if (!s->bytes) { perror("realloc"); exit(1); }
    }
    memcpy(s->bytes + s->len, &v, 4);
    s->len += 4;
}

/* A record: header (event, extra words, TSC flag), the TSC when `tsc` is non-zero, then the extra words. */
static void record(int cpu, uint32_t event, uint64_t tsc, int n, const uint32_t *extra) {
    struct stream *s = &streams[cpu];
    if (s->dropping) { s->dropped++; return; }
    put32(s, event | (uint32_t)n << 28 | (tsc ? 1u << 31 : 0));
    if (tsc) {
        put32(s, (uint32_t)tsc);
        put32(s, (uint32_t)(tsc >> 32));
        s->last_tsc = tsc;
    }
    for (int i = 0; i < n; i++) put32(s, extra[i]);
}

static uint32_t dv(const struct vcpu *v) { return (uint32_t)v->dom << 16 | (uint32_t)v->vid; }

static void runstate(int cpu, const struct vcpu *v, int old, int new, uint64_t tsc) {
    uint32_t w = dv(v);
    record(cpu, EV_RUNSTATE_CHANGE | old << 8 | new << 4, tsc, 1, &w);
}

static const uint32_t vmx_reasons[] = { 1, 10, 12, 30, 31, 32, 48, 7, 28 };  /* EXT_INT CPUID HLT IO MSR_R MSR_W EPT PENDING_VIRT_INTR CR */
static const uint32_t svm_reasons[] = { 0x60, 0x72, 0x78, 0x7b, 0x7c, 0x400, 0x64, 0x00 };  /* INTR CPUID HLT IOIO MSR NPF VINTR CR0_READ */

/* Exits of HVM vCPU `v` running on `cpu` from `from` to `to` (cycles). */
static void exits(int cpu, const struct vcpu *v, uint64_t from, uint64_t to) {
    uint64_t t = from + between(20000, 400000);
    while (t + 20000 < to) {
        uint32_t reason = svm ? svm_reasons[rnd() % (sizeof svm_reasons / sizeof *svm_reasons)]
                              : vmx_reasons[rnd() % (sizeof vmx_reasons / sizeof *vmx_reasons)];
        uint64_t rip = rips[rnd() % nrips];
        uint32_t base = svm ? EV_HVM_SVM_EXIT : EV_HVM_VMX_EXIT;
        if (v->x32) {
            uint32_t w[2] = { reason, (uint32_t)rip };
            record(cpu, base, t, 2, w);
        } else {
            uint32_t w[3] = { reason, (uint32_t)rip, (uint32_t)(rip >> 32) };
            record(cpu, base | FLAG_64, t, 3, w);
        }
        /* A handler record without a TSC (it happened at the exit's time), as Xen writes most of them. */
        uint32_t h[4] = { 0x80000001u, 0, 0, 0 };
        if (rnd() % 2) record(cpu, EV_HVM_CPUID, 0, 4, h);
        else record(cpu, EV_HVM_INTR, 0, 1, h);
        record(cpu, EV_HVM_VMENTRY, t + between(500, 8000), 0, 0);
        t += between(20000, 600000);
    }
}

static void wrap(int cpu, uint64_t tsc) {
    /* Padding to the end of Xen's buffer: a wrap record with some extra words of no meaning. */
    uint32_t pad[7] = { 0 };
    record(cpu, EV_WRAP_BUFFER, tsc, (int)between(0, 7), pad);
}

int main(int argc, char **argv) {
    const char *out = 0, *ripfile = 0;
    int lost = 0, wraps = 0;
    uint64_t ms = 200, window = 4096;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : 0;
        if (!strcmp(a, "--svm")) svm = 1;
        else if (!strcmp(a, "--wrap")) wraps = 1;
        else if (v && !strcmp(a, "-o")) { out = v; i++; }
        else if (v && !strcmp(a, "-p")) { npcpus = atoi(v); i++; }
        else if (v && !strcmp(a, "-s")) { rng_state = strtoull(v, 0, 0) * 0x9E3779B97F4A7C15ull | 1; i++; }
        else if (v && !strcmp(a, "-t")) { ms = strtoull(v, 0, 0); i++; }
        else if (v && !strcmp(a, "-l")) { lost = atoi(v); i++; }
        else if (v && !strcmp(a, "-w")) { window = strtoull(v, 0, 0); i++; }
        else if (v && !strcmp(a, "-r")) { ripfile = v; i++; }
        else { fprintf(stderr, "xentrace_writer: unknown option %s\n", a); return 2; }
    }
    if (!out || npcpus < 1 || npcpus > 32 || window < 64) { fprintf(stderr, "usage: xentrace_writer -o FILE [-p N] [-s SEED] [-t MS] [-l N] [-w BYTES] [-r RIPS] [--svm] [--wrap]\n"); return 2; }
    if (ripfile) {
        FILE *f = fopen(ripfile, "r");
        if (!f) { perror(ripfile); return 1; }
        unsigned long long a;
        while (nrips < 256 && fscanf(f, "%llx", &a) == 1) rips[nrips++] = a;
        fclose(f);
    }
    if (!nrips) {
        static const uint64_t builtin[] = { 0xffffffff81001234ull, 0xffffffff810a0040ull, 0xffffffff81234560ull,
                                            0xffffffff8108f00full, 0x00007f3a12340000ull, 0x00005555555551a0ull };
        for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++) rips[nrips++] = builtin[i];
    }
    streams = calloc((size_t)npcpus, sizeof *streams);

    /* The domains' vCPUs; the idle vCPUs come last, one per physical CPU. */
    int dom0 = npcpus < 4 ? npcpus : 4;
    for (int i = 0; i < dom0; i++) vcpus[nvcpus++] = (struct vcpu){ 0, i, 0, 0, RS_RUNNABLE, -1, 0 };
    for (int i = 0; i < 2; i++) vcpus[nvcpus++] = (struct vcpu){ 1, i, 1, 0, RS_RUNNABLE, -1, 0 };
    vcpus[nvcpus++] = (struct vcpu){ 2, 0, 1, 1, RS_RUNNABLE, -1, 0 };
    vcpus[nvcpus++] = (struct vcpu){ 3, 0, 0, 0, RS_RUNNABLE, -1, 0 };
    int guests = nvcpus;
    for (int p = 0; p < npcpus; p++) vcpus[nvcpus++] = (struct vcpu){ IDLE_DOMAIN, p, 0, 0, RS_RUNNABLE, -1, 0 };

    uint64_t start = 1000000000ull, end = start + ms * (HZ / 1000);
    int *current = calloc((size_t)npcpus, sizeof *current);
    uint64_t *next_at = calloc((size_t)npcpus, sizeof *next_at);
    uint64_t *lost_at = calloc((size_t)npcpus, sizeof *lost_at);
    /* Each CPU starts in its idle vCPU (the first record is the idle vCPU starting to run). */
    for (int p = 0; p < npcpus; p++) {
        struct vcpu *idle = &vcpus[guests + p];
        uint64_t t = start + (uint64_t)p * 1000;
        runstate(p, idle, RS_RUNNABLE, RS_RUNNING, t);
        idle->state = RS_RUNNING;
        idle->pcpu = p;
        current[p] = guests + p;
        next_at[p] = t + between(10000, 200000);
        lost_at[p] = lost ? start + between(ms * (HZ / 1000) / 8, ms * (HZ / 1000) / 2) : UINT64_MAX;
    }
    int lost_left = lost * npcpus;

    for (;;) {
        int p = 0;
        for (int q = 1; q < npcpus; q++) if (next_at[q] < next_at[p]) p = q;
        uint64_t t = next_at[p];
        if (t >= end) break;
        struct stream *s = &streams[p];
        /* Lost records: stop writing this CPU's records for a while, then say how many were lost. */
        if (!s->dropping && lost_left > 0 && t >= lost_at[p]) {
            s->dropping = 1;
            s->dropped = 0;
            s->drop_from = t;
            lost_at[p] = t + between(2000000, 12000000);
        } else if (s->dropping && t >= lost_at[p]) {
            s->dropping = 0;
            struct vcpu *c = &vcpus[current[p]];
            uint32_t w[4] = { s->dropped + 1, (uint32_t)c->dom | (uint32_t)c->vid << 16, (uint32_t)s->drop_from,
                              (uint32_t)(s->drop_from >> 32) };
            record(p, EV_LOST_RECORDS, t, 4, w);
            t += 2000;
            lost_left--;
            lost_at[p] = lost_left > 0 ? t + between(ms * (HZ / 1000) / 4, ms * (HZ / 1000)) : UINT64_MAX;
        }
        if (wraps && rnd() % 16 == 0) wrap(p, t - 100);
        struct vcpu *prev = &vcpus[current[p]];
        /* Wake blocked vCPUs whose time has come (a blocked -> runnable change written on this CPU). */
        for (int i = 0; i < guests; i++) {
            struct vcpu *v = &vcpus[i];
            if (v->state == RS_BLOCKED && v->wake_at <= t) {
                runstate(p, v, RS_BLOCKED, RS_RUNNABLE, t - 50);
                v->state = RS_RUNNABLE;
            }
        }
        /* Pick the next vCPU: a runnable guest vCPU (or the one running here), or the idle vCPU. */
        int cand[64], n = 0;
        for (int i = 0; i < guests; i++)
            if ((vcpus[i].state == RS_RUNNABLE) || (i == current[p])) cand[n++] = i;
        int next = (n == 0 || rnd() % 5 == 0) ? guests + p : cand[rnd() % n];
        struct vcpu *nv = &vcpus[next];
        uint32_t w4[4];
        if (next == current[p]) {
            w4[0] = (uint32_t)nv->dom; w4[1] = (uint32_t)nv->vid; w4[2] = 0; w4[3] = 30000;
            record(p, EV_SWITCH_INFCONT, t, 4, w4);
            uint32_t w = dv(nv);
            record(p, EV_CONTINUE_RUNNING, t + 10, 1, &w);
        } else {
            int prev_to = prev->dom == IDLE_DOMAIN ? RS_RUNNABLE : (rnd() % 3 == 0 ? RS_BLOCKED : RS_RUNNABLE);
            w4[0] = (uint32_t)prev->dom; w4[1] = (uint32_t)prev->vid; w4[2] = 100000;
            record(p, EV_SWITCH_INFPREV, t, 3, w4);
            w4[0] = (uint32_t)nv->dom; w4[1] = (uint32_t)nv->vid; w4[2] = 5000; w4[3] = 30000;
            record(p, EV_SWITCH_INFNEXT, t + 10, 4, w4);
            runstate(p, prev, RS_RUNNING, prev_to, t + 20);
            prev->state = prev_to;
            prev->pcpu = -1;
            if (prev_to == RS_BLOCKED) prev->wake_at = t + between(100000, 3000000);
            runstate(p, nv, RS_RUNNABLE, RS_RUNNING, t + 30);
            nv->state = RS_RUNNING;
            nv->pcpu = p;
            w4[0] = (uint32_t)prev->dom; w4[1] = (uint32_t)prev->vid; w4[2] = (uint32_t)nv->dom; w4[3] = (uint32_t)nv->vid;
            record(p, EV_SWITCH, t + 40, 4, w4);
            current[p] = next;
        }
        uint64_t until = t + between(200000, 6000000);
        if (nv->hvm) exits(p, nv, t + 100, until);
        next_at[p] = until;
    }

    /* Windows: each CPU's records in pieces of at most `window` bytes, record boundaries kept, CPUs taking turns
     * as the daemon drains Xen's per-CPU buffers; each piece after a cpu-change record {cpu, window size}. */
    FILE *f = fopen(out, "wb");
    if (!f) { perror(out); return 1; }
    size_t *at = calloc((size_t)npcpus, sizeof *at);
    for (int left = 1; left;) {
        left = 0;
        for (int p = 0; p < npcpus; p++) {
            struct stream *s = &streams[p];
            size_t from = at[p], to = from;
            while (to < s->len) {
                uint32_t h;
                memcpy(&h, s->bytes + to, 4);
                size_t size = 4 + ((h >> 31) ? 8 : 0) + 4 * ((h >> 28) & 7);
                if (to + size - from > window && to > from) break;
                to += size;
            }
            if (to == from) continue;
            uint32_t cc[3] = { EV_CPU_CHANGE | 2u << 28, (uint32_t)p, (uint32_t)(to - from) };
            fwrite(cc, 4, 3, f);
            fwrite(s->bytes + from, 1, to - from, f);
            at[p] = to;
            left |= to < s->len;
        }
    }
    if (fclose(f)) { perror(out); return 1; }
    return 0;
}
