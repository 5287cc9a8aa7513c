import Dispatch

/// Decodes another source on a background thread, a few batches ahead of its consumer, so that decoding
/// and whatever the consumer does with the samples (attribution, aggregation) run on two cores.
///
/// Memory stays bounded: at most `depth` decoded batches wait at any time. ``metadata`` and ``stats`` are
/// the decoder's as of the last batch handed out (a decoder may add to both as it goes; after `nil` they
/// are final). The wrapped source must not be used by anyone else once it is wrapped: tell it
/// `setCallchainsWanted(_:)` before wrapping it.
public final class ReadAheadSource: SampleSource {
    /// The decoder's metadata as of the last batch handed out (final after `nil`).
    public private(set) var metadata: RunMetadata
    /// What the decoder lost, dropped or skipped, as of the last batch handed out (final after `nil`).
    public private(set) var stats: DecodeStats
    private let channel: HandOff<Item>
    private var finished = false

    /// Starts decoding `source` in the background right away.
    /// - Parameters:
    ///   - depth: how many decoded batches may wait for the consumer (at least 1).
    ///   - startSlack: how many more may wait until the consumer has taken that many: a consumer that does
    ///     something else first (a report reads its symbol tables, 0.2 s on a whole system) does not stop
    ///     decoding after `depth` batches meanwhile (docs/ARCHITECTURE.md, "Whole-system reports").
    public init(_ source: any SampleSource, depth: Int = 4, startSlack: Int = ReadAheadSource.defaultStartSlack) {
        metadata = source.metadata
        stats = source.stats
        let channel = HandOff<Item>(capacity: max(1, depth), startSlack: startSlack)
        self.channel = channel
        let producer = Producer(source: source, channel: channel)
        DispatchQueue.global().async { producer.run() }
    }

    /// The batches that may wait beyond `depth` at the start: 32 (a merged whole-system batch is 1–2 MB).
    public static let defaultStartSlack = 32

    deinit {
        channel.cancel()
    }

    /// The next batch the background decoder made (waiting for it if none is ready); a decoder's error is
    /// thrown here, in order, after the batches before it. Nil at the end, and on every call after it.
    public func nextBatch() throws(SampleIOError) -> SampleBatch? {
        if finished { return nil }
        // The producer puts an item for the end and for an error, and stops only after either.
        guard let item = channel.take() else { finished = true; return nil }
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

    /// Owns the wrapped source on the background thread.
    final class Producer: @unchecked Sendable {
        let source: any SampleSource
        let channel: HandOff<Item>
        init(source: any SampleSource, channel: HandOff<Item>) {
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
