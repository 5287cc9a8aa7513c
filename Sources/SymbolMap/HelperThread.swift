#if canImport(Glibc)
import Glibc
#endif
internal import CElfUtils

/// One extra thread for the short, hot commands (`xprof symbolize`): work is cut into pieces that this
/// thread and the helper claim one at a time, so either may do any share of it. The calling thread never
/// waits for a helper that has not started: a job the helper has not taken yet when the caller runs out
/// of pieces is withdrawn (on a busy machine the helper may get a CPU only milliseconds later). It waits
/// only for a piece the helper is working on.
///
/// Jobs are non-escaping closures, gone from the helper before the call that handed them over returns,
/// so they may use the caller's local state. Made through ``HelperThread/with(_:)``, which joins the
/// thread before returning.
final class HelperThread: @unchecked Sendable {
    private let start = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let idle = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var thread = pthread_t()
    /// The CPUs the process may use (glibc's 1024-bit cpu_set_t).
    private var allowed: [UInt64]

    // The job, all under `lock`.
    private var work: ((Int, Bool) -> Void)?
    private var count = 0
    private var next = 0
    /// Pieces claimed are below `written + window` (``shareInOrder(_:slots:_:emit:)``: slots in use).
    private var window = Int.max / 2
    private var written = 0
    /// Signalled when a piece is done or written (``shareInOrder(_:slots:_:emit:)``).
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Whether the helper took the current job, and is still inside it.
    private var taken = false
    private var busy = false
    private var stopping = false

    private init?(allowed: [UInt64]) {
        self.allowed = allowed
        sem_init(start, 0, 0)
        pthread_mutex_init(lock, nil)
        pthread_cond_init(idle, nil)
        pthread_cond_init(changed, nil)
        let me = Unmanaged.passUnretained(self).toOpaque()
        // Start on another CPU than this thread's: Linux may otherwise queue the new thread behind this
        // one on the same CPU until its load balancing moves it, milliseconds later.
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        let here = Int(xprof_sched_getcpu())
        var others = allowed
        if here >= 0 && here < 1024 {
            others[here / 64] &= ~(1 << UInt64(here % 64))
            if others.contains(where: { $0 != 0 }) {
                _ = others.withUnsafeBytes { xprof_pthread_attr_setaffinity_np(&attr, $0.count, $0.baseAddress) }
            }
        }
        let rc = pthread_create(&thread, &attr, { p in
            Unmanaged<HelperThread>.fromOpaque(p!).takeUnretainedValue().loop()
            return nil
        }, me)
        if rc != 0 {
            free()
            return nil
        }
    }

    private func free() {
        sem_destroy(start)
        pthread_mutex_destroy(lock)
        pthread_cond_destroy(idle)
        pthread_cond_destroy(changed)
        start.deallocate()
        lock.deallocate()
        idle.deallocate()
        changed.deallocate()
    }

    private func loop() {
        // Started away from the main thread's CPU; from now on, free to go wherever the process may.
        _ = allowed.withUnsafeBytes { xprof_sched_setaffinity(0, $0.count, $0.baseAddress) }
        while true {
            while sem_wait(start) != 0 {}
            pthread_mutex_lock(lock)
            if stopping {
                pthread_mutex_unlock(lock)
                return
            }
            // A wake-up for a job already withdrawn or done finds nothing to take.
            guard work != nil, !taken else {
                pthread_mutex_unlock(lock)
                continue
            }
            taken = true
            busy = true
            pthread_mutex_unlock(lock)
            drain()
            pthread_mutex_lock(lock)
            busy = false
            pthread_cond_signal(idle)
            pthread_mutex_unlock(lock)
        }
    }

    /// Works on pieces of the current job until none are left. No reference to the job outlives a call:
    /// the caller's `withoutActuallyEscaping` checks that none is left once the helper is idle.
    @inline(never)
    private func drain() {
        while let i = claim(waiting: true) { work?(i, true) }
    }

    /// The next unclaimed piece of the current job, if any. Past the window of slots, the helper (`waiting`)
    /// waits for the main thread to write a piece; the main thread gets nil.
    private func claim(waiting: Bool = false) -> Int? {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        while true {
            guard next < count else { return nil }
            if next < written + window {
                next += 1
                return next - 1
            }
            if !waiting { return nil }
            pthread_cond_wait(changed, lock)
        }
    }

    /// Hands `w` over as the job (the helper is woken to take it).
    private func begin(_ w: @escaping (Int, Bool) -> Void, _ pieces: Int, window: Int) {
        pthread_mutex_lock(lock)
        work = w
        count = pieces
        next = 0
        self.window = window
        written = 0
        taken = false
        busy = false
        pthread_mutex_unlock(lock)
        sem_post(start)
    }

    /// Waits for the helper to let go of the job if it took it, else withdraws the job (a later wake-up
    /// finds no work).
    private func end() {
        pthread_mutex_lock(lock)
        if taken {
            while busy { pthread_cond_wait(idle, lock) }
        }
        work = nil
        count = 0
        next = 0
        pthread_mutex_unlock(lock)
    }

    private func stop() {
        pthread_mutex_lock(lock)
        stopping = true
        pthread_mutex_unlock(lock)
        sem_post(start)
        pthread_join(thread, nil)
        free()
    }

    /// Calls `body` with a helper thread when this process may run on two CPUs or more (else with nil, unless
    /// `force`: tests), and joins the thread before returning.
    static func with<R, E: Error>(force: Bool = false, _ body: (HelperThread?) throws(E) -> R) throws(E) -> R {
        let mask = allowedCPUs()
        let cpus = mask.reduce(0, { $0 + $1.nonzeroBitCount })
        guard cpus >= 2 || (force && cpus >= 1), let h = HelperThread(allowed: mask) else { return try body(nil) }
        defer { h.stop() }
        return try body(h)
    }

    /// The CPUs this process may run on, as a 1024-bit mask (all zero if unknown).
    static func allowedCPUs() -> [UInt64] {
        var mask = [UInt64](repeating: 0, count: 16)
        let ok = mask.withUnsafeMutableBytes { xprof_sched_getaffinity(0, $0.count, $0.baseAddress) == 0 }
        return ok ? mask : [UInt64](repeating: 0, count: 16)
    }

    /// Runs `work(i, onHelper)` for every `i` in `0..<pieces`, each once, on this thread and the helper;
    /// pieces are claimed in order. `first` runs here before this thread starts claiming (the helper may
    /// already be at work); it may ask ``progress()`` how far the helper got. Returns when every piece is
    /// done and the helper has let go of the job.
    func share(_ pieces: Int, first: () -> Void = {}, _ work: (Int, Bool) -> Void) {
        guard pieces > 0 else { first(); return }
        withoutActuallyEscaping(work) { w in
            begin(w, pieces, window: Int.max / 2)
            first()
            while let i = claim() { w(i, false) }
            end()
        }
    }

    /// Runs `work(i, slot)` for every `i` in `0..<pieces` on both threads, and `emit(i, slot)` here for each
    /// piece in order as soon as it and those before it are done (say, to write its output). A piece uses
    /// slot `i % slots` (its output buffer, say): at most `slots` pieces are at work or waiting to be
    /// emitted, so a slot is free again once its piece is emitted. Returns when all are emitted and the
    /// helper has let go of the job.
    func shareInOrder(_ pieces: Int, slots: Int, _ work: (Int, Int) -> Void, emit: (Int, Int) -> Void) {
        guard pieces > 0 else { return }
        let window = max(1, min(slots, pieces))
        let done = UnsafeMutablePointer<Int>.allocate(capacity: window)
        done.initialize(repeating: -1, count: window)
        defer { done.deallocate() }
        withoutActuallyEscaping(work) { w in
            let lock = self.lock, changed = self.changed
            let piece: (Int, Bool) -> Void = { i, _ in
                w(i, i % window)
                pthread_mutex_lock(lock)
                done[i % window] = i
                pthread_cond_broadcast(changed)
                pthread_mutex_unlock(lock)
            }
            begin(piece, pieces, window: window)
            var emitted = 0
            while emitted < pieces {
                pthread_mutex_lock(lock)
                var mine: Int? = nil
                if done[emitted % window] != emitted {
                    if next < count && next < written + window {
                        mine = next
                        next += 1
                    } else {
                        // The next piece to emit is the helper's, still at work (unclaimed ones are ours).
                        while done[emitted % window] != emitted { pthread_cond_wait(changed, lock) }
                    }
                }
                pthread_mutex_unlock(lock)
                if let i = mine {
                    piece(i, false)
                    continue
                }
                emit(emitted, emitted % window)
                emitted += 1
                pthread_mutex_lock(lock)
                written = emitted
                pthread_cond_broadcast(changed)
                pthread_mutex_unlock(lock)
            }
            end()
        }
    }

    /// For `first` of ``share(_:first:_:)``: whether the helper has taken the job, and whether all of its
    /// pieces are claimed and the helper is done with them.
    func progress() -> (taken: Bool, finished: Bool) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return (taken, taken && !busy && next >= count)
    }
}
