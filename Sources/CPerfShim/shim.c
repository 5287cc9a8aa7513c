#define _GNU_SOURCE
#include <string.h>
#include "CPerfShim.h"
#include <unistd.h>
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
