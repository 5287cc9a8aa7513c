#ifndef XPROF_CPERFSHIM_H
#define XPROF_CPERFSHIM_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/perf_event.h>

/// perf_event_open(2) through syscall(2), which Swift cannot call (variadic). Returns the fd or -1 (errno set).
int xprof_perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd, unsigned long flags);

/// ioctl(2) on a perf fd with an integer argument (Swift cannot call the variadic ioctl).
int xprof_perf_ioctl(int fd, unsigned long request, unsigned long arg);

/// The kernel's id of a perf event (PERF_EVENT_IOC_ID), which samples carry in PERF_SAMPLE_IDENTIFIER.
/// Returns 0, or -1 with errno set.
int xprof_perf_event_id(int fd, uint64_t *id);

/// Sets the calling thread's CPU affinity to the `n` CPUs in `cpus` (a child it then starts inherits it),
/// saving the previous mask in `saved` (XPROF_CPU_MASK_BYTES bytes). Returns 0, or -1 with errno set.
int xprof_affinity_push(const int *cpus, int n, void *saved);
/// Restores a mask saved by xprof_affinity_push. Returns 0, or -1 with errno set.
int xprof_affinity_pop(const void *saved);
#define XPROF_CPU_MASK_BYTES 128

/// ioctl request numbers (function-like macros Swift cannot import).
static const unsigned long XPROF_PERF_IOC_ENABLE = PERF_EVENT_IOC_ENABLE;
static const unsigned long XPROF_PERF_IOC_DISABLE = PERF_EVENT_IOC_DISABLE;
static const unsigned long XPROF_PERF_IOC_SET_OUTPUT = PERF_EVENT_IOC_SET_OUTPUT;

/// Acquire load of `data_head` from a mapped perf ring's control page.
uint64_t xprof_ring_load_head(const struct perf_event_mmap_page *page);

/// Release store of `data_tail` to a mapped perf ring's control page.
void xprof_ring_store_tail(struct perf_event_mmap_page *page, uint64_t tail);

/// zlib's CRC-32 (IEEE 802.3 polynomial), continuing from `crc` (start with 0).
uint32_t xprof_crc32(uint32_t crc, const void *bytes, size_t count);

/// Decompresses one complete zstd frame sequence from `src` into `dst`. Returns the number of bytes
/// written, or a negative value on error (`*error_name` then points at zstd's static message).
long long xprof_zstd_decompress_stream(const void *src, size_t src_size, void *dst, size_t dst_capacity,
                                       const char **error_name);

/// zlib deflate (zlib container) of `src` into `dst` at `level` (1 fast … 9 small). Returns the compressed
/// size, or -1 if `dst` is too small or zlib fails. `xprof_deflate_bound` gives a sufficient capacity.
long long xprof_deflate(const void *src, size_t src_size, void *dst, size_t dst_capacity, int level);
size_t xprof_deflate_bound(size_t src_size);

/// zlib deflate of `src` into `dst` in a gzip container (RFC 1952, what `gzip` and pprof read). Returns the
/// compressed size, or -1 if `dst` is too small or zlib fails; `xprof_deflate_bound(src_size) + 32` suffices.
long long xprof_gzip(const void *src, size_t src_size, void *dst, size_t dst_capacity, int level);

/// zlib inflate of `src` into `dst`, which must hold exactly the expected size. Returns the size
/// produced, or -1 on corrupt data, -2 if the output does not fit.
long long xprof_inflate(const void *src, size_t src_size, void *dst, size_t dst_capacity);

/// A zstd decompression stream that lives across calls (perf compresses its records as one stream, so a
/// frame may continue in the next PERF_RECORD_COMPRESSED). Returns NULL when out of memory.
void *xprof_zstd_stream_new(void);
void xprof_zstd_stream_free(void *stream);
/// Feeds `src` to the stream and writes what it decompresses to `dst`, stopping when `dst` is full.
/// Returns the bytes written (and in `*consumed` the input bytes used; call again with the rest and a
/// fresh `dst` while input remains or `dst` came back full), or -1 on a zstd error (`*error_name` set).
long long xprof_zstd_stream_feed(void *stream, const void *src, size_t src_size, void *dst, size_t dst_capacity,
                                 size_t *consumed, const char **error_name);

/* The hot loop of reading a large perf.data for a report that merges identical samples (the Swift
 * decoder's fast path): consecutive PERF_RECORD_SAMPLE records of the host or hypervisor, with a fixed
 * field layout, little-endian, callchains not wanted. */

/* Where each field of a fixed sample layout is (byte offsets from the record start, -1 when absent);
 * `head`: bytes before the callchain entries (or of the whole fixed part), `tail`: fixed bytes after them. */
typedef struct {
    int32_t ip_at, tid_at, time_at, cpu_at, period_at, chain_at, head, tail;
    uint64_t fixed_period;
    /* With several events of this one layout (perf record -a adds a dummy event for the side-band records):
     * where a sample's id is, and the `id_count` ids in increasing order with the index of each one's event; a
     * sample with an id not listed ends the loop. id_count 0: one event, index 0. */
    int32_t id_at;
    uint32_t id_count;
    const uint64_t *ids;
    const uint16_t *id_events;
} xprof_sample_layout;

/* A parsed sample: its merger key (ip; pid << 32 | tid; domain << 32 | event << 8 | mode; pcpu << 32 |
 * vcpu), the key's hash, time, weight, and where its callchain is (none here). Same layout as the Swift
 * decoder's PerfChunk.Parsed. */
typedef struct {
    uint64_t ip, threads, place, cpus;
    uint64_t hash, time, weight;
    uint32_t chain_start, chain_count;
} xprof_parsed_sample;

/* One callchain frame: address and mode (0 user, 1 kernel, 2 hypervisor, 3 unknown); the layout of the
 * Swift CallFrame (16 bytes). */
typedef struct {
    uint64_t ip;
    uint8_t mode;
    uint8_t reserved[7];
} xprof_frame;

/* perf's rules for the modes of a sample and of its callchain, written once for the C loop below and the
 * Swift decoders (SampleIO's PerfModes.swift wraps them; docs/ARCHITECTURE.md, "perf.data"). Modes are the
 * Swift SampleMode's values: 0 user, 1 kernel, 2 hypervisor, 3 unknown. */

/* A callchain entry that is not an address (PERF_CONTEXT_*, -4095 ... -1). */
#define XPROF_CONTEXT_FIRST 0xFFFFFFFFFFFFF001ull
/* What xprof_context_mode answers for a marker that leaves the frames' mode as it was (PERF_CONTEXT_GUEST,
 * unknown markers). */
#define XPROF_CONTEXT_KEEP 255

/* A hint to bring the cache line at `p` in: the report looks up a run of samples' row cache slots after
 * asking for all of them (a whole system's caches are larger than the caches of the CPU). */
static inline void xprof_prefetch(const void *p) { __builtin_prefetch(p); }

/* The mode of the frames after the context marker `v` (v >= XPROF_CONTEXT_FIRST): PERF_CONTEXT_HV (-32) the
 * hypervisor; _KERNEL (-128) and _GUEST_KERNEL (-2176) kernel; _USER (-512) and _GUEST_USER (-2560) user;
 * any other XPROF_CONTEXT_KEEP. */
static inline uint8_t xprof_context_mode(uint64_t v) {
    switch ((int64_t)v) {
    case -32: return 2;
    case -128: case -2176: return 1;
    case -512: case -2560: return 0;
    default: return XPROF_CONTEXT_KEEP;
    }
}

/* The mode of a sample of PERF_RECORD_MISC_CPUMODE `cpumode` (misc & 7): KERNEL and GUEST_KERNEL (1, 4)
 * kernel, USER and GUEST_USER (2, 5) user, HYPERVISOR (3) the hypervisor, anything else unknown. */
static inline uint8_t xprof_cpumode_mode(unsigned cpumode) {
    switch (cpumode & 7) {
    case 1: case 4: return 1;
    case 2: case 5: return 0;
    case 3: return 2;
    default: return 3;
    }
}

/* Whether `cpumode` is a guest's (GUEST_KERNEL, GUEST_USER): its domain is the guest machine's, else the
 * host's (0) or, for HYPERVISOR, the hypervisor's (0x7FF2, Xen's DOMID_XEN). */
static inline int xprof_cpumode_is_guest(unsigned cpumode) {
    return (cpumode & 7) == 4 || (cpumode & 7) == 5;
}

/* The domain of a sample of a non-guest `cpumode`. */
static inline uint32_t xprof_cpumode_host_domain(unsigned cpumode) {
    return (cpumode & 7) == 3 ? 0x7FF2 : 0;
}

/* The merger's hash of a key and its callchain (must equal SampleMerger.hash in Swift; a test checks). */
static inline uint64_t xprof_chain_hash(uint64_t ip, uint64_t threads, uint64_t place, uint64_t cpus,
                                        const xprof_frame *chain, size_t count) {
    uint64_t h = (ip * 0x9E3779B97F4A7C15ull) ^ (threads * 0xC2B2AE3D27D4EB4Full)
        ^ (place * 0x165667B19E3779F9ull) ^ (cpus * 0x27D4EB2F165667C5ull);
    for (size_t i = 0; i < count; i++) {
        h = (h ^ (chain[i].ip + chain[i].mode)) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
    }
    h ^= h >> 32;
    h = (h ^ (uint64_t)count) * 0xD6E8FEB86659FD93ull;
    return h ^ (h >> 32);
}

/* The hash of a key without callchain. */
static inline uint64_t xprof_key_hash(uint64_t ip, uint64_t threads, uint64_t place, uint64_t cpus) {
    return xprof_chain_hash(ip, threads, place, cpus, 0, 0);
}

/* Parses the samples at the start of buf[0 ..< len] into out[0 ..< cap]; stops at the first record it does
 * not take (another type, a guest cpumode, a record that does not fit or is too short for the layout).
 * With `frames` (callchains wanted), each sample's chain is decoded there — context markers dropped, each
 * frame in the mode of the marker before it, the sampled ip first — and hashed with the key (as
 * SampleMerger.hash does); it stops before a sample whose chain does not fit in the `frames_cap - *frames_used`
 * frames left. Returns the bytes consumed; *written gets the number of samples. */
size_t xprof_perf_fast_samples(const uint8_t *buf, size_t len, const xprof_sample_layout *layout,
                               xprof_parsed_sample *out, size_t cap, size_t *written,
                               xprof_frame *frames, size_t frames_cap, size_t *frames_used);

/* A sample waiting for its round in the merging stage: time, weight, place in the input's event order, key
 * index. Same layout as the Swift MergeStage.MergedRef. */
typedef struct {
    uint64_t time, weight, seq;
    uint32_t key, reserved;
} xprof_merged_ref;

/* The merging stage's hot loop: looks each of in[0 ..< n] (callchains in `in_frames`) up in the merger's
 * open-addressing table (`slots`: hash high half << 32 | key index + 1, 0 free; `mask` + 1 slots; `keys`: 4
 * words per key; `chains`: (start, count) per key into `key_frames`) and appends a ref for it to refs (at
 * most `room`). Stops at the first sample whose key (with its callchain) is not in the table (the caller
 * adds it) and returns how many samples it took; `*seq` and `*newest` (the newest time seen) are carried
 * along. */
size_t xprof_merge_known(const xprof_parsed_sample *in, size_t n, const xprof_frame *in_frames,
                         const uint64_t *slots, uint64_t mask, const uint64_t *keys, const uint32_t *chains,
                         const xprof_frame *key_frames, xprof_merged_ref *refs, size_t room,
                         uint64_t *seq, uint64_t *newest);

/// libFuzzer's entry point for a program that has its own `main` (only linked in `make fuzz`'s build, where
/// SwiftPM renames the fuzz target's `main`; see Sources/xprof-fuzz).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*user_callback)(const uint8_t *data, size_t size));

#endif
