import Dispatch

/// Decodes another source on a background thread, a few batches ahead of its consumer, so that decoding
/// and whatever the consumer does with the samples (attribution, aggregation) run on two cores.
///
/// Memory stays bounded: at most `depth` decoded batches wait at any time. ``metadata`` and ``stats`` are
/// the decoder's as of the last batch handed out (a decoder may add to both as it goes; after `nil` they
/// are final). The wrapped source must not be used by anyone else once it is wrapped: tell it
/// `setCallchainsWanted(_:)` before wrapping it.
public final class ReadAheadSource: SampleSource {
    public private(set) var metadata: RunMetadata
    public private(set) var stats: DecodeStats
    private let channel: Channel
    private var finished = false

    /// Starts decoding `source` in the background right away.
    /// - Parameter depth: how many decoded batches may wait for the consumer (at least 1).
    public init(_ source: any SampleSource, depth: Int = 4) {
        metadata = source.metadata
        stats = source.stats
        let channel = Channel(depth: max(1, depth))
        self.channel = channel
        let producer = Producer(source: source, channel: channel)
        DispatchQueue.global().async { producer.run() }
    }

    deinit {
        channel.cancel()
    }

    public func nextBatch() throws(SampleIOError) -> SampleBatch? {
        if finished { return nil }
        let item = channel.take()
        metadata = item.metadata
        stats = item.stats
        switch item.result {
        case .success(let batch):
            if batch == nil { finished = true }
            return batch
        case .failure(let error):
            finished = true
            throw error
        }
    }

    struct Item: @unchecked Sendable {
        var result: Result<SampleBatch?, SampleIOError>
        var metadata: RunMetadata
        var stats: DecodeStats
    }

    /// A bounded queue between the decoding thread and the consumer.
    final class Channel: @unchecked Sendable {
        private let slots: DispatchSemaphore
        private let filled = DispatchSemaphore(value: 0)
        private let lock = DispatchSemaphore(value: 1)  // free again whenever it can be released
        private var items: [Item] = []
        private var head = 0
        private var cancelled = false

        init(depth: Int) {
            // libdispatch refuses to free a semaphore whose count is below the one it was created with, and
            // a consumer that stops early leaves slots taken: start at 0 and add the slots one by one.
            slots = DispatchSemaphore(value: 0)
            for _ in 0..<depth { slots.signal() }
        }

        /// Producer side: waits for room; false when the consumer has gone away.
        func put(_ item: Item) -> Bool {
            slots.wait()
            lock.wait()
            defer { lock.signal() }
            if cancelled { return false }
            items.append(item)
            filled.signal()
            return true
        }

        /// Consumer side: waits for the next item.
        func take() -> Item {
            filled.wait()
            lock.wait()
            let item = items[head]
            head += 1
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            }
            lock.signal()
            slots.signal()
            return item
        }

        /// The consumer is gone: release a producer waiting for room and make it stop.
        func cancel() {
            lock.wait()
            cancelled = true
            lock.signal()
            slots.signal()
        }
    }

    /// Owns the wrapped source on the background thread.
    final class Producer: @unchecked Sendable {
        let source: any SampleSource
        let channel: Channel
        init(source: any SampleSource, channel: Channel) {
            self.source = source
            self.channel = channel
        }

        func run() {
            while true {
                let result: Result<SampleBatch?, SampleIOError>
                do { result = .success(try source.nextBatch()) } catch { result = .failure(error) }
                let more: Bool
                if case .success(let b) = result, b != nil { more = true } else { more = false }
                guard channel.put(Item(result: result, metadata: source.metadata, stats: source.stats)), more else { return }
            }
        }
    }
}
