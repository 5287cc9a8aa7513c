/// A growable buffer of trivial values in plain memory, for the decoder's per-sample queues: appending is
/// a store and a count (an `Array` kept in a class property checks uniqueness and capacity on every
/// append, and a class reference would be retained around every call). Not copy-on-write: copies share
/// the memory, so exactly one owner keeps it and calls ``release()`` once.
struct PlainBuffer<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 1024) {
        self.capacity = max(16, capacity)
        base = .allocate(capacity: self.capacity)
    }

    /// Frees the memory; the buffer must not be used afterwards.
    func release() { base.deallocate() }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    mutating func append(_ e: Element) {
        if count == capacity { grow(count + 1) }
        (base + count).initialize(to: e)
        count += 1
    }

    mutating func append(contentsOf buf: UnsafeBufferPointer<Element>) {
        guard let src = buf.baseAddress, buf.count > 0 else { return }
        if count + buf.count > capacity { grow(count + buf.count) }
        (base + count).initialize(from: src, count: buf.count)
        count += buf.count
    }

    @inline(__always)
    subscript(i: Int) -> Element {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }

    /// Lets `fill` write up to `maxCount` elements after the last one (into uninitialized memory, trivial
    /// values only) and keeps as many as it says it wrote.
    mutating func append(upTo maxCount: Int, _ fill: (UnsafeMutablePointer<Element>) -> Int) {
        if count + maxCount > capacity { grow(count + maxCount) }
        let n = fill(base + count)
        count += max(0, min(n, maxCount))
    }

    /// Makes room for `extra` more elements and lets `fill` use it: it gets the base and the count, may
    /// write elements after the last one, and returns the new count (between the old one and old + extra).
    mutating func grow(by extra: Int, _ fill: (UnsafeMutablePointer<Element>, Int) -> Int) {
        if count + extra > capacity { grow(count + extra) }
        let n = fill(base, count)
        count = max(count, min(n, count + extra))
    }

    /// Empties the buffer, keeping its memory.
    mutating func removeAll() { count = 0 }

    /// The elements, valid until the next append.
    var buffer: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: count) }

    /// The elements, to change in place; valid until the next append.
    var mutableBuffer: UnsafeMutableBufferPointer<Element> { UnsafeMutableBufferPointer(start: base, count: count) }

    private mutating func grow(_ needed: Int) {
        var c = capacity * 2
        while c < needed { c *= 2 }
        let nb = UnsafeMutablePointer<Element>.allocate(capacity: c)
        nb.moveInitialize(from: base, count: count)
        base.deallocate()
        base = nb
        capacity = c
    }
}
