/// Objects a command-line run keeps until the process exits instead of freeing them when it is done with
/// them: a report's decoder and symbol tables hold mappings (the perf.data file, kallsyms, a few hundred
/// thousand symbols) whose teardown — `munmap` with TLB shootdowns to the decoder's other threads, and a
/// release per object — cost a few milliseconds right before the report is printed, work the kernel does
/// anyway, and more cheaply, when the process exits (as compilers skip freeing their ASTs).
/// Libraries and tests do not use it: there the objects go as usual.
public enum ProcessLifetime {
    /// Keeps `objects` alive until the process exits (one extra reference each, never given back).
    public static func keep(_ objects: [AnyObject]) {
        for o in objects { _ = Unmanaged.passRetained(o) }
    }
}
