#define _GNU_SOURCE
#include <string.h>
#include "CPerfShim.h"
#include <unistd.h>
#include <sched.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <zlib.h>
#include <zstd.h>

int xprof_perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd, unsigned long flags) {
    return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags);
}

int xprof_perf_ioctl(int fd, unsigned long request, unsigned long arg) {
    return ioctl(fd, request, arg);
}

int xprof_affinity_push(const int *cpus, int n, void *saved) {
    cpu_set_t set;
    _Static_assert(sizeof(cpu_set_t) == XPROF_CPU_MASK_BYTES, "cpu_set_t size");
    if (sched_getaffinity(0, sizeof set, (cpu_set_t *)saved) != 0) return -1;
    CPU_ZERO(&set);
    for (int i = 0; i < n; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) { errno = EINVAL; return -1; }
        CPU_SET(cpus[i], &set);
    }
    return sched_setaffinity(0, sizeof set, &set);
}

int xprof_affinity_pop(const void *saved) {
    return sched_setaffinity(0, sizeof(cpu_set_t), (const cpu_set_t *)saved);
}

int xprof_perf_event_id(int fd, uint64_t *id) {
    return ioctl(fd, PERF_EVENT_IOC_ID, id);
}

uint64_t xprof_ring_load_head(const struct perf_event_mmap_page *page) {
    return __atomic_load_n(&page->data_head, __ATOMIC_ACQUIRE);
}

void xprof_ring_store_tail(struct perf_event_mmap_page *page, uint64_t tail) {
    __atomic_store_n(&page->data_tail, tail, __ATOMIC_RELEASE);
}

uint32_t xprof_crc32(uint32_t crc, const void *bytes, size_t count) {
    uLong c = crc;
    const Bytef *p = (const Bytef *)bytes;
    while (count > 0) {
        uInt chunk = count > 0x40000000u ? 0x40000000u : (uInt)count;
        c = crc32(c, p, chunk);
        p += chunk;
        count -= chunk;
    }
    return (uint32_t)c;
}

long long xprof_zstd_decompress_stream(const void *src, size_t src_size, void *dst, size_t dst_capacity,
                                       const char **error_name) {
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds) { *error_name = "out of memory"; return -1; }
    ZSTD_initDStream(ds);
    ZSTD_inBuffer in = { src, src_size, 0 };
    ZSTD_outBuffer out = { dst, dst_capacity, 0 };
    while (in.pos < in.size) {
        size_t r = ZSTD_decompressStream(ds, &out, &in);
        if (ZSTD_isError(r)) { *error_name = ZSTD_getErrorName(r); ZSTD_freeDStream(ds); return -1; }
        if (out.pos == out.size && in.pos < in.size) { *error_name = "output buffer too small"; ZSTD_freeDStream(ds); return -2; }
    }
    ZSTD_freeDStream(ds);
    return (long long)out.pos;
}

size_t xprof_deflate_bound(size_t src_size) {
    return (size_t)compressBound((uLong)src_size);
}

long long xprof_deflate(const void *src, size_t src_size, void *dst, size_t dst_capacity, int level) {
    uLongf out = (uLongf)dst_capacity;
    int r = compress2((Bytef *)dst, &out, (const Bytef *)src, (uLong)src_size, level);
    return r == Z_OK ? (long long)out : -1;
}

long long xprof_gzip(const void *src, size_t src_size, void *dst, size_t dst_capacity, int level) {
    z_stream z;
    memset(&z, 0, sizeof z);
    /* window bits 15 + 16: the largest window, in a gzip header and trailer instead of zlib's */
    if (src_size > 0xffffffffu || dst_capacity > 0xffffffffu) return -1;
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)src_size;
    z.next_out = (Bytef *)dst;
    z.avail_out = (uInt)dst_capacity;
    int r = deflate(&z, Z_FINISH);
    long long out = (long long)z.total_out;
    deflateEnd(&z);
    return r == Z_STREAM_END ? out : -1;
}

long long xprof_inflate(const void *src, size_t src_size, void *dst, size_t dst_capacity) {
    uLongf out = (uLongf)dst_capacity;
    int r = uncompress((Bytef *)dst, &out, (const Bytef *)src, (uLong)src_size);
    if (r == Z_OK) return (long long)out;
    return r == Z_BUF_ERROR ? -2 : -1;
}

void *xprof_zstd_stream_new(void) {
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (ds) ZSTD_initDStream(ds);
    return ds;
}

void xprof_zstd_stream_free(void *stream) {
    if (stream) ZSTD_freeDStream((ZSTD_DStream *)stream);
}

long long xprof_zstd_stream_feed(void *stream, const void *src, size_t src_size, void *dst, size_t dst_capacity,
                                 size_t *consumed, const char **error_name) {
    ZSTD_inBuffer in = { src, src_size, 0 };
    ZSTD_outBuffer out = { dst, dst_capacity, 0 };
    do {
        size_t r = ZSTD_decompressStream((ZSTD_DStream *)stream, &out, &in);
        if (ZSTD_isError(r)) { *consumed = in.pos; *error_name = ZSTD_getErrorName(r); return -1; }
    } while (in.pos < in.size && out.pos < out.size);
    *consumed = in.pos;
    return (long long)out.pos;
}

static inline uint64_t load64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint32_t load32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

#define XPROF_PREFETCH_DISTANCE 2048

size_t xprof_perf_fast_samples(const uint8_t *buf, size_t len, const xprof_sample_layout *l,
                               xprof_parsed_sample *out, size_t cap, size_t *written,
                               xprof_frame *frames, size_t frames_cap, size_t *frames_used) {
    size_t used = frames ? *frames_used : 0;
    const int32_t ip_at = l->ip_at, tid_at = l->tid_at, time_at = l->time_at, cpu_at = l->cpu_at;
    const int32_t period_at = l->period_at, chain_at = l->chain_at, head = l->head, tail = l->tail;
    const uint64_t fixed_period = l->fixed_period;
    size_t o = 0, n = 0;
    /* The buffer may be the file's pages mapped in place, not yet in any cache: every record's place
     * depends on the size of the one before, so without help each would wait for memory in turn. Lines
     * are prefetched a fixed distance ahead instead (all of them: the records are back to back). */
    size_t fetched = 0;
    while (n < cap && o + 8 <= len) {
        const uint8_t *p = buf + o;
        while (fetched < o + XPROF_PREFETCH_DISTANCE && fetched < len) {
            __builtin_prefetch(buf + fetched);
            fetched += 64;
        }
        uint32_t type = load32(p);
        uint16_t misc, size16;
        memcpy(&misc, p + 4, 2);
        memcpy(&size16, p + 6, 2);
        size_t size = size16;
        unsigned cpumode = misc & 7;
        if (type != 9 || size < 8 || o + size > len || xprof_cpumode_is_guest(cpumode)) break;
        size_t body_end = (size_t)head;
        uint64_t nr = 0;
        if (chain_at >= 0) {
            if (size < (size_t)head + 8) break;
            nr = load64(p + chain_at);
            if (nr > (size - head - 8) / 8) break;
            body_end = (size_t)head + 8 + (size_t)nr * 8;
        } else if (size < (size_t)head) {
            break;
        }
        if (size - body_end < (size_t)tail) break;
        /* Room for the decoded chain (at most its entries plus the sampled ip). */
        if (frames && nr > 0 && frames_cap - used < nr + 1) break;
        uint64_t event = 0;
        if (l->id_count) {
            /* The sample's event, by its id (a binary search of the sorted ids). */
            if (l->id_at < 0 || (size_t)l->id_at + 8 > size) break;
            uint64_t id = load64(p + l->id_at);
            size_t lo = 0, hi = l->id_count;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (l->ids[mid] < id) lo = mid + 1; else hi = mid;
            }
            if (lo == l->id_count || l->ids[lo] != id) break;
            event = l->id_events[lo];
        }
        uint64_t ip = ip_at >= 0 ? load64(p + ip_at) : 0;
        uint64_t pid_tid = tid_at >= 0 ? load64(p + tid_at) : ~0ull;
        uint64_t pid = pid_tid & 0xFFFFFFFFull, tid = pid_tid >> 32;
        uint64_t cpu = cpu_at >= 0 ? load32(p + cpu_at) : 0xFFFFFFFFull;
        uint64_t domain = xprof_cpumode_host_domain(cpumode), mode = xprof_cpumode_mode(cpumode);
        xprof_parsed_sample *s = out + n;
        s->ip = ip;
        s->threads = pid << 32 | tid;
        s->place = domain << 32 | event << 8 | mode;
        s->cpus = cpu << 32 | (domain == 0 ? cpu : 0xFFFFFFFFull);
        s->chain_start = 0;
        s->chain_count = 0;
        if (frames && nr > 0) {
            /* Frame 0 is the sampled ip, unless the chain starts with it. */
            xprof_frame *f = frames + used;
            size_t k = 1;
            uint8_t frame_mode = (uint8_t)mode;
            const uint8_t *e = p + chain_at + 8;
            for (uint64_t j = 0; j < nr; j++) {
                uint64_t v = load64(e + 8 * j);
                if (v >= XPROF_CONTEXT_FIRST) {  /* PERF_CONTEXT_* markers */
                    uint8_t m = xprof_context_mode(v);
                    if (m != XPROF_CONTEXT_KEEP) frame_mode = m;
                    continue;
                }
                f[k].ip = v;
                f[k].mode = frame_mode;
                k++;
            }
            size_t first = 0;
            if (k > 1 && f[1].ip == ip) {
                first = 1;
            } else {
                f[0].ip = ip;
                f[0].mode = (uint8_t)mode;
            }
            s->chain_start = (uint32_t)(used + first);
            s->chain_count = (uint32_t)(k - first);
            s->hash = xprof_chain_hash(s->ip, s->threads, s->place, s->cpus, f + first, k - first);
            used += k;
        } else {
            s->hash = xprof_key_hash(s->ip, s->threads, s->place, s->cpus);
        }
        s->time = time_at >= 0 ? load64(p + time_at) : 0;
        s->weight = period_at >= 0 ? load64(p + period_at) : fixed_period;
        n++;
        o += size;
    }
    *written = n;
    if (frames) *frames_used = used;
    return o;
}

static inline int same_chain(const xprof_frame *a, const xprof_frame *b, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        if (a[i].ip != b[i].ip || a[i].mode != b[i].mode) return 0;
    }
    return 1;
}

size_t xprof_merge_known(const xprof_parsed_sample *in, size_t n, const xprof_frame *in_frames,
                         const uint64_t *slots, uint64_t mask, const uint64_t *keys, const uint32_t *chains,
                         const xprof_frame *key_frames, xprof_merged_ref *refs, size_t room,
                         uint64_t *seq, uint64_t *newest) {
    uint64_t q = *seq, t = *newest;
    size_t i = 0;
    for (; i < n && i < room; i++) {
        const xprof_parsed_sample *p = in + i;
        const uint32_t count = p->chain_count;
        const xprof_frame *chain = count ? in_frames + p->chain_start : 0;
        const uint64_t h = p->hash, tag = h & 0xFFFFFFFF00000000ull;
        uint64_t j = h & mask;
        int64_t found = -1;
        for (;;) {
            const uint64_t v = slots[j];
            if (v == 0) break;
            if ((v & 0xFFFFFFFF00000000ull) == tag) {
                const uint64_t k = (v & 0xFFFFFFFFull) - 1;
                const uint64_t *w = keys + 4 * k;
                if (w[0] == p->ip && w[1] == p->threads && w[2] == p->place && w[3] == p->cpus && chains[2 * k + 1] == count
                    && (count == 0 || same_chain(key_frames + chains[2 * k], chain, count))) {
                    found = (int64_t)k;
                    break;
                }
            }
            j = (j + 1) & mask;
        }
        if (found < 0) break;
        xprof_merged_ref *r = refs + i;
        r->time = p->time;
        r->weight = p->weight;
        r->seq = q++;
        r->key = (uint32_t)found;
        r->reserved = 0;
        if (p->time > t) t = p->time;
    }
    *seq = q;
    *newest = t;
    return i;
}
