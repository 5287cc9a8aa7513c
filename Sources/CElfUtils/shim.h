#ifndef XPROF_CELFUTILS_SHIM_H
#define XPROF_CELFUTILS_SHIM_H
#include <libelf.h>
#include <gelf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <stddef.h>
/* zlib's CRC-32, for the symbol cache's entries. */
#include <zlib.h>
/* libzstd, for debug sections compressed with zstd (ELFCOMPRESS_ZSTD), which libelf reads only from 0.189 on. */
#include <zstd.h>
/* libiberty's demangler (Debian's libiberty-dev), the one perf and binutils use. */
#include <libiberty/demangle.h>

/* GNU extensions under names of their own (the Glibc module declares them only with _GNU_SOURCE), for
   xprof symbolize's helper thread: the CPUs it may use, the CPU it runs on, and starting the helper on
   another CPU than the main thread's (else Linux may start it on the same one and move it only a few
   milliseconds later, as long as a whole run). Masks are glibc cpu_set_t bit sets. */
extern int xprof_sched_getaffinity(int pid, size_t size, void *mask) __asm__("sched_getaffinity");
extern int xprof_sched_setaffinity(int pid, size_t size, const void *mask) __asm__("sched_setaffinity");
extern int xprof_sched_getcpu(void) __asm__("sched_getcpu");
extern int xprof_pthread_attr_setaffinity_np(void *attr, size_t size, const void *mask) __asm__("pthread_attr_setaffinity_np");
#endif
