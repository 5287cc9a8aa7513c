/*
 * xprof-workload: small, predictable workloads for xprof's demos, tests and benchmarks.
 *
 *   xprof-workload spin    [SECONDS]            CPU-bound loop; its hot function is workload_spin_hot
 *   xprof-workload syscall [SECONDS]            syscall-heavy loop (getppid, write to /dev/null)
 *   xprof-workload tlb     [SECONDS] [THREADS]  TLB-shootdown storm: THREADS threads touch a shared
 *                                               buffer while the main thread mprotects and munmaps pages
 *                                               of it, which makes the kernel send TLB-flush IPIs
 *   xprof-workload mixed   [SECONDS]            half spin, half syscall, in two threads
 *   xprof-workload stacks  [SECONDS]            deep, varied call stacks (like an interpreter or a server):
 *                                               two threads descend 8 to 40 levels through 32 functions
 *                                               (stack_f0 ... stack_f31) along 128 routes each, then spin
 *                                               (workload_spin_hot) or make system calls at the leaf
 *   xprof-workload clock   [SECONDS]            clock_gettime in a loop: its time is in the vDSO
 *   xprof-workload work    [ROUNDS]             a fixed amount of CPU work (ROUNDS calls of workload_spin_hot,
 *                                               default 2000): its run time is what profiling overhead changes
 *
 * Each prints one line to stderr with the work it did. SECONDS defaults to 2 (fractions allowed).
 * With XPROF_WORKLOAD_CPU=N in the environment the process first moves itself to CPU N (so a test can
 * exec it on one CPU and have it run on another).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The CPU-bound hot function: an xorshift/multiply chain the compiler cannot fold away. */
__attribute__((noinline)) uint64_t workload_spin_hot(uint64_t x, long iterations) {
    for (long i = 0; i < iterations; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = x * 0x9E3779B97F4A7C15ull + (uint64_t)i;
    }
    return x;
}

static volatile uint64_t sink;

static long run_spin(double seconds) {
    double end = now() + seconds;
    long rounds = 0;
    uint64_t x = 88172645463325252ull;
    while (now() < end) {
        x = workload_spin_hot(x, 200000);
        rounds++;
    }
    sink = x;
    return rounds;
}

__attribute__((noinline)) long workload_syscall_round(int fd) {
    long n = 0;
    char byte = 'x';
    for (int i = 0; i < 1000; i++) {
        n += syscall(SYS_getppid) > 0;
        n += write(fd, &byte, 1) == 1;
    }
    return n;
}

static long run_syscall(double seconds) {
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0) { perror("xprof-workload: /dev/null"); exit(1); }
    double end = now() + seconds;
    long calls = 0;
    while (now() < end) calls += workload_syscall_round(fd);
    close(fd);
    return calls;
}

/* --- TLB-shootdown storm --- */
#define TLB_PAGES 256
static char *tlb_buf;
static long page_size;
static atomic_int tlb_stop;
static atomic_long tlb_touches;
static pthread_rwlock_t tlb_lock = PTHREAD_RWLOCK_INITIALIZER;

/* Reads one byte of every page, so each toucher's CPU holds TLB entries for all of them. */
__attribute__((noinline)) long workload_tlb_touch(volatile char *base, long pages, long stride) {
    long sum = 0;
    for (long p = 0; p < pages; p++) sum += base[p * stride];
    return sum;
}

static void *tlb_toucher(void *arg) {
    (void)arg;
    while (!atomic_load(&tlb_stop)) {
        pthread_rwlock_rdlock(&tlb_lock);
        sink += (uint64_t)workload_tlb_touch(tlb_buf, TLB_PAGES, page_size);
        pthread_rwlock_unlock(&tlb_lock);
        atomic_fetch_add(&tlb_touches, 1);
    }
    return NULL;
}

/* Changes protections and unmaps/remaps the shared pages: each change of a mapping that other
 * threads' CPUs have cached in their TLBs makes the kernel flush those TLBs by IPI. */
__attribute__((noinline)) long workload_tlb_shootdown(void) {
    long ops = 0;
    for (int i = 0; i < TLB_PAGES; i += 8) {
        char *p = tlb_buf + (long)i * page_size;
        if (mprotect(p, 8 * page_size, PROT_READ) == 0) ops++;
        if (mprotect(p, 8 * page_size, PROT_READ | PROT_WRITE) == 0) ops++;
    }
    pthread_rwlock_wrlock(&tlb_lock);
    munmap(tlb_buf + 16 * page_size, 16 * page_size);
    void *q = mmap(tlb_buf + 16 * page_size, 16 * page_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    pthread_rwlock_unlock(&tlb_lock);
    if (q != MAP_FAILED) ops += 2;
    return ops;
}

static long run_tlb(double seconds, int threads) {
    page_size = sysconf(_SC_PAGESIZE);
    tlb_buf = mmap(NULL, TLB_PAGES * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (tlb_buf == MAP_FAILED) { perror("xprof-workload: mmap"); exit(1); }
    memset(tlb_buf, 1, TLB_PAGES * page_size);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    for (int i = 0; i < threads; i++) pthread_create(&tids[i], NULL, tlb_toucher, NULL);
    double end = now() + seconds;
    long ops = 0;
    while (now() < end) ops += workload_tlb_shootdown();
    atomic_store(&tlb_stop, 1);
    for (int i = 0; i < threads; i++) pthread_join(tids[i], NULL);
    free(tids);
    munmap(tlb_buf, TLB_PAGES * page_size);
    return ops;
}

/* stacks: 32 functions that call each other in an order a seed decides, so the samples carry many
 * distinct deep callchains. Each does a little work after its call (no tail calls: every level keeps its
 * frame). */
typedef uint64_t (*stack_fn)(uint64_t seed, int depth, int leaf_syscall);
static stack_fn stack_table[32];
static int stack_null_fd = -1;

static uint64_t stack_leaf(uint64_t seed, int leaf_syscall) {
    if (leaf_syscall) {
        char c = (char)seed;
        for (int i = 0; i < 16; i++) {
            seed += (uint64_t)syscall(SYS_getppid);
            if (write(stack_null_fd, &c, 1) < 0) seed++;
        }
        return seed;
    }
    return workload_spin_hot(seed, 3000);
}

#define STACK_FN(n)                                                                  \
    __attribute__((noinline)) uint64_t stack_f##n(uint64_t seed, int depth, int leaf_syscall) { \
        seed = seed * 6364136223846793005ull + 1442695040888963407ull + n;           \
        uint64_t r = depth <= 0 ? stack_leaf(seed, leaf_syscall)                     \
                                : stack_table[(seed >> 33) & 31](seed, depth - 1, leaf_syscall); \
        sink += r;                                                                   \
        return r ^ (seed >> 7);                                                      \
    }
STACK_FN(0) STACK_FN(1) STACK_FN(2) STACK_FN(3) STACK_FN(4) STACK_FN(5) STACK_FN(6) STACK_FN(7)
STACK_FN(8) STACK_FN(9) STACK_FN(10) STACK_FN(11) STACK_FN(12) STACK_FN(13) STACK_FN(14) STACK_FN(15)
STACK_FN(16) STACK_FN(17) STACK_FN(18) STACK_FN(19) STACK_FN(20) STACK_FN(21) STACK_FN(22) STACK_FN(23)
STACK_FN(24) STACK_FN(25) STACK_FN(26) STACK_FN(27) STACK_FN(28) STACK_FN(29) STACK_FN(30) STACK_FN(31)

struct stacks_args { double seconds; int leaf_syscall; uint64_t seed; long result; };
static void *stacks_thread(void *arg) {
    struct stacks_args *a = arg;
    double end = now() + a->seconds;
    uint64_t seed = a->seed;
    long calls = 0;
    uint64_t out = 0;
    while (now() < end) {
        for (int i = 0; i < 64; i++) {
            /* One of 128 routes: a route's seed fixes its path and depth, as a program's call graph does. */
            seed = seed * 2862933555777941757ull + 3037000493ull;
            uint64_t route = (seed >> 32) % 128 + 1 + (a->leaf_syscall ? 1000 : 0);
            uint64_t r = route * 0x9E3779B97F4A7C15ull;
            int depth = 8 + (int)((r >> 40) % 33);
            out += stack_table[(r >> 20) & 31](r, depth, a->leaf_syscall);
            calls++;
        }
    }
    sink += out;
    a->result = calls;
    return NULL;
}

static long run_stacks(double seconds) {
    stack_fn fns[32] = { stack_f0, stack_f1, stack_f2, stack_f3, stack_f4, stack_f5, stack_f6, stack_f7,
                         stack_f8, stack_f9, stack_f10, stack_f11, stack_f12, stack_f13, stack_f14, stack_f15,
                         stack_f16, stack_f17, stack_f18, stack_f19, stack_f20, stack_f21, stack_f22, stack_f23,
                         stack_f24, stack_f25, stack_f26, stack_f27, stack_f28, stack_f29, stack_f30, stack_f31 };
    memcpy(stack_table, fns, sizeof fns);
    stack_null_fd = open("/dev/null", O_WRONLY);
    if (stack_null_fd < 0) { perror("xprof-workload: /dev/null"); exit(1); }
    struct stacks_args a = { seconds, 0, 88172645463325252ull, 0 }, b = { seconds, 1, 1181783497276652981ull, 0 };
    pthread_t t;
    pthread_create(&t, NULL, stacks_thread, &a);
    stacks_thread(&b);
    pthread_join(t, NULL);
    close(stack_null_fd);
    return a.result + b.result;
}

struct spin_args { double seconds; long result; };
static void *spin_thread(void *arg) {
    struct spin_args *a = arg;
    a->result = run_spin(a->seconds);
    return NULL;
}

static void usage(void) {
    fprintf(stderr, "usage: xprof-workload spin|syscall|tlb|mixed|stacks|clock [SECONDS] [THREADS] | work [ROUNDS]\n");
    exit(64);
}

int main(int argc, char **argv) {
    if (argc < 2) usage();
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    if (!(seconds > 0)) usage();  /* (for `work`, the same argument is a round count) */
    const char *mode = argv[1];
    const char *pin = getenv("XPROF_WORKLOAD_CPU");
    if (pin && *pin) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(atoi(pin), &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0) {
            fprintf(stderr, "xprof-workload: cannot move to CPU %s: %s\n", pin, strerror(errno));
            return 69;
        }
    }
    if (strcmp(mode, "spin") == 0) {
        long r = run_spin(seconds);
        fprintf(stderr, "xprof-workload: spin: %ld rounds of workload_spin_hot in %.2f s\n", r, seconds);
    } else if (strcmp(mode, "syscall") == 0) {
        long r = run_syscall(seconds);
        fprintf(stderr, "xprof-workload: syscall: %ld system calls in %.2f s\n", r, seconds);
    } else if (strcmp(mode, "tlb") == 0) {
        int threads = argc > 3 ? atoi(argv[3]) : 2;
        if (threads < 1 || threads > 256) usage();
        long r = run_tlb(seconds, threads);
        fprintf(stderr, "xprof-workload: tlb: %ld mprotect/munmap/mmap calls with %d touching threads (%ld sweeps) in %.2f s\n",
                r, threads, atomic_load(&tlb_touches), seconds);
    } else if (strcmp(mode, "work") == 0) {
        long rounds = argc > 2 ? atol(argv[2]) : 2000;
        if (rounds < 1) usage();
        uint64_t x = 88172645463325252ull;
        double t0 = now();
        for (long i = 0; i < rounds; i++) x = workload_spin_hot(x, 200000);
        sink = x;
        fprintf(stderr, "xprof-workload: work: %ld rounds of workload_spin_hot in %.3f s\n", rounds, now() - t0);
    } else if (strcmp(mode, "mixed") == 0) {
        struct spin_args a = { seconds, 0 };
        pthread_t t;
        pthread_create(&t, NULL, spin_thread, &a);
        long s = run_syscall(seconds);
        pthread_join(t, NULL);
        fprintf(stderr, "xprof-workload: mixed: %ld spin rounds, %ld system calls in %.2f s\n", a.result, s, seconds);
    } else if (strcmp(mode, "clock") == 0) {
        long calls = 0;
        double end = now() + seconds;
        while (now() < end) calls++;
        fprintf(stderr, "xprof-workload: clock: %ld clock_gettime calls in %.2f s\n", calls, seconds);
    } else if (strcmp(mode, "stacks") == 0) {
        long r = run_stacks(seconds);
        fprintf(stderr, "xprof-workload: stacks: %ld descents of 8 to 40 levels in %.2f s\n", r, seconds);
    } else {
        usage();
    }
    return 0;
}
