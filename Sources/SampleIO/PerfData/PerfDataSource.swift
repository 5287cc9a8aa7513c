internal import CPerfShim

/// Decodes the records of a perf.data file into sample batches and side-band events, in perf's time order
/// by FINISHED_ROUND rounds (file order when the records carry no timestamps). docs/ARCHITECTURE.md, "One
/// sample, from a perf.data record to a report row", follows a record through it.
///
/// The format's seams, one file each: the header (``PerfFileHeader``), features (`PerfFeatures.swift`), the
/// pipe header records (`PerfPipeHeader.swift`), the record cursor (``PerfRecordCursor``), the record
/// decoder (`PerfRecordDecoder.swift`, with ``PerfSidebandRecords`` and ``PerfModes`` shared with the live
/// recorder), compression (``PerfDecompressor``) and ordering (``PerfRoundSorter``, or ``MergeStage`` when
/// samples are merged; both by ``RoundLimit``). This file holds the state and the ``SampleSource`` side.
final class PerfDataSource: SampleSource {
    var metadata = RunMetadata()
    var stats = DecodeStats()
    let path: String
    let file: PerfFileBytes
    let layout: PerfFileHeader.Layout
    var events: PerfEventTable
    let cursor: PerfRecordCursor
    let decompressor = PerfDecompressor()

    /// How decoded samples reach the consumer; chosen once (at the first batch at the latest).
    enum Delivery {
        /// In file order, straight into `ready` (the file has no timestamps to order by).
        case fileOrder
        /// In time order through `sorter`.
        case timeOrder
        /// Reduced to merger keys and merged by `stage`, here.
        case merged
        /// Reduced to merger keys, sent in chunks to `worker`, which merges them on a thread of its own
        /// while reading threads fill the cursor's window.
        case mergedOnThread
    }
    var delivery: Delivery
    let sorter: PerfRoundSorter
    var stage: MergeStage?
    var worker: MergeWorker?

    /// Where decoding is.
    enum Progress {
        case reading
        /// No record is left (``step()`` said so) and the end was checked (``endOfInput()``).
        case inputEnded
        /// The last batch went out.
        case done
    }
    var progress = Progress.reading

    /// Whether the consumer uses callchains; without, they are walked past but not decoded.
    var callchains = true
    /// Events ready for delivery, in time order.
    var ready = SampleBatch()
    var lastRecordType: UInt32 = 0

    /// With a worker: the chunk being filled, as plain buffers here (no object reference in the per-sample
    /// path); moved into a ``PerfChunk`` when sent.
    var chunkSamples = PlainBuffer<PerfChunk.Parsed>(capacity: PerfChunk.capacity)
    var chunkFrames = PlainBuffer<CallFrame>(capacity: 1 << 15)
    var chunkControls: [(before: Int, control: PerfChunk.Control)] = []
    /// The layout ``fastSamples(limit:)`` parses with, when it applies (set when merging starts).
    var fastLayout: xprof_sample_layout?
    /// With several events: the ids `fastLayout` lists (in increasing order) and their events' indexes.
    var fastIDs = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    var fastIDEvents = UnsafeMutablePointer<UInt16>.allocate(capacity: 1)

    /// Where one sample's callchain is assembled.
    let scratch = ChainScratch()
    var chainScratch: UnsafeMutableBufferPointer<CallFrame> { scratch.frames }
    /// Where the last decoded callchain is in `chainScratch`.
    var decodedChain = 0..<0
    /// perf's counter values per id, for samples with PERF_SAMPLE_READ (see ``PerfReadValues``).
    var readValues = PerfReadValues()
    /// The guest machines met so far (by VMM pid).
    var guests: Set<UInt32> = []
    /// From PERF_RECORD_ID_INDEX entries that name a guest machine (`perf inject --guest-data` writes them):
    /// sample id → the VMM's pid and the vCPU. Guest samples with such an id belong to that machine.
    var idMachine: [UInt64: (pid: UInt32, vcpu: UInt32)] = [:]
    var featureBuildIDs: [(String, String)] = []

    /// The build-ids the file carries (hex id, path), as `perf buildid-list` shows them.
    var buildIDs: [(String, String)] { featureBuildIDs }

    /// The objects the merging and reading threads hold while they run (tests watch them go).
    var threadObjects: [AnyObject] { [worker as AnyObject?, cursor.threadObject].compactMap { $0 } }

    /// How the reading threads read a file on disk (see ``WindowReader``): in place or copied, and with
    /// which stride (nil: the reader's default). Tests choose both to cover each way.
    struct WindowChoice {
        var inPlace = true
        var stride: Int? = nil
    }

    /// Decodes a perf.data held in memory (tests, pipes).
    convenience init(bytes: [UInt8], path: String) throws(SampleIOError) {
        try self.init(file: PerfFileBytes(copying: bytes), path: path)
    }

    /// Reads the header (nothing is allocated before it passed), then a pipe's header records or the
    /// file's features.
    convenience init(file: PerfFileBytes, path: String, windows: WindowChoice = WindowChoice()) throws(SampleIOError) {
        let header = try PerfFileHeader.read(file, path: path)
        self.init(file: file, path: path, header: header, windows: windows)
        if layout == .pipe {
            try readPipeHeaderRecords()
        } else if let at = header.featuresAt {
            readFeatures(featuresAt: at, order: header.order)
        }
        finishMetadata()
    }

    private init(file: PerfFileBytes, path: String, header: PerfFileHeader, windows: WindowChoice) {
        self.file = file
        self.path = path
        layout = header.layout
        events = header.events
        cursor = PerfRecordCursor(file: file, big: header.big, from: header.dataStart, to: header.dataEnd, windows: windows)
        sorter = PerfRoundSorter(cursor: cursor)
        delivery = .fileOrder
        metadata.sourceFormat = "perf.data"
        stats.warnings = header.warnings
    }

    deinit {
        // The merging thread stops once it sees the hand-off cancelled (it holds nothing of this object).
        worker?.chunks.cancel()
        chunkSamples.release(); chunkFrames.release()
        fastIDs.deallocate(); fastIDEvents.deallocate()
    }

    func setCallchainsWanted(_ wanted: Bool) { callchains = wanted }

    /// Whether identical samples are merged (the consumer only counts): then each sample is reduced to its
    /// merger key and hash on the spot, and a ``MergeStage`` puts them in order — on a thread of its own
    /// (`worker`, fed with chunks) for a file on disk, here (`stage`) otherwise.
    func setMergingAllowed(_ allowed: Bool) {
        guard allowed, delivery != .merged, delivery != .mergedOnThread else { return }
        // Merged samples keep no reference into the file: a mapped file is then read front to back through
        // a reused buffer instead of through the mapping.
        let streaming = cursor.startStreaming()
        // One event, or several of one layout whose samples carry their id and period (perf record -a's events:
        // the sampled one and a dummy for the side-band records): the C loop then finds each sample's event by id
        // (``PerfEventTable/sampleAttr(_:)``'s rule: IDENTIFIER first, else ID).
        let a = events.layouts[0]
        let oneLayout = events.layouts.allSatisfy { $0.fixed && !$0.splitsReads && $0.sampleType == a.sampleType && $0.readFormat == a.readFormat }
        let idAt = a.sampleType & PerfAttr.identifier != 0 ? 8 : a.idAt
        if streaming && !cursor.big && oneLayout && (events.count == 1 || (idAt >= 0 && a.periodAt >= 0 && !events.idToAttr.isEmpty)) {
            var idCount: UInt32 = 0
            if events.count > 1 {
                let byID = events.idToAttr.sorted { $0.key < $1.key }
                fastIDs.deallocate(); fastIDEvents.deallocate()
                fastIDs = .allocate(capacity: byID.count)
                fastIDEvents = .allocate(capacity: byID.count)
                for (k, e) in byID.enumerated() {
                    fastIDs[k] = e.key
                    fastIDEvents[k] = UInt16(truncatingIfNeeded: e.value)
                }
                idCount = UInt32(byID.count)
            }
            fastLayout = xprof_sample_layout(ip_at: Int32(a.ipAt), tid_at: Int32(a.tidAt), time_at: Int32(a.timeAt),
                                             cpu_at: Int32(a.cpuAt), period_at: Int32(a.periodAt), chain_at: Int32(a.chainAt),
                                             head: Int32(a.head), tail: Int32(a.tail), fixed_period: a.fixedPeriod,
                                             id_at: Int32(idAt), id_count: idCount, ids: fastIDs, id_events: fastIDEvents)
        }
        let w = MergeWorker(ordered: events.timed)
        if streaming && w.start() {
            worker = w
            delivery = .mergedOnThread
            cursor.startReadingThreads()
        } else {
            stage = MergeStage(ordered: events.timed)
            delivery = .merged
        }
    }

    private func finishMetadata() {
        if let a = events.attrs.first(where: { $0.sampleType & PerfAttr.read != 0 && $0.readFormat & PerfAttr.fmtGroup != 0
                                               && $0.readFormat & PerfAttr.fmtID == 0 }) {
            stats.warnings.append("\(path): the group read values of event '\(PerfEventTable.displayName(a))' carry no ids, so they cannot be told apart: each sample is counted once, as its own event with its own period (perf drops such values as unknown ids)")
        }
        // perf record --call-graph dwarf: samples carry a copy of the user stack and registers for perf report
        // to unwind; xprof does not unwind them (yet), which changes callchain views: say so.
        if let a = events.attrs.first(where: { $0.sampleType & PerfAttr.stackUser != 0 && $0.sampleType & PerfAttr.regsUser != 0 }) {
            stats.warnings.append("\(path): event '\(PerfEventTable.displayName(a))' was recorded with --call-graph dwarf (user stacks copied for unwinding); xprof does not unwind them, so callchains hold the kernel frames and the sampled user address only: --children, call graphs and flame graphs miss the user callers perf report shows (self columns are unaffected; record with --call-graph fp or lbr for xprof)")
        }
        // Order events by time as perf does, when every record carries a timestamp.
        delivery = events.timed ? .timeOrder : .fileOrder
        metadata.events = events.attrs.map { a in
            EventInfo(name: PerfEventTable.displayName(a),
                      frequency: a.freq ? a.samplePeriodOrFreq : nil,
                      period: a.freq ? nil : a.samplePeriodOrFreq)
        }
        if metadata.domains.isEmpty {
            metadata.domains = [DomainInfo(id: .host, name: metadata.hostname.isEmpty ? "host" : metadata.hostname,
                                           role: .coordinator, vcpus: metadata.cpusOnline)]
        }
        for (id, p) in featureBuildIDs where !metadata.symbolHints.contains(where: { $0.path == p && $0.buildID == id }) {
            let kind: SymbolSourceKind = p.hasPrefix("[kernel.kallsyms]") ? .kernel : (p.hasSuffix(".ko") ? .module : .user)
            metadata.symbolHints.append(SymbolHint(domain: .host, kind: kind, path: p, buildID: id))
        }
    }

    /// A guest machine met for the first time: a domain of the run's.
    func addGuest(_ g: UInt32) {
        guests.insert(g)
        metadata.domains.append(DomainInfo(id: DomainID(g), name: "guest-\(g)", role: .passive))
    }

    // MARK: batches

    func nextBatch() throws(SampleIOError) -> SampleBatch? {
        if progress == .done { return nil }
        if let worker { return nextMergedBatch(worker) }
        while progress == .reading && ready.samples.count < 16384 && (stage?.ready.samples.count ?? 0) < 16384 {
            if fastLayout != nil && !decompressor.hasPending { fastSamples(limit: Int.max) }
            if !step() { endOfInput() }
        }
        if progress == .inputEnded {
            if let stage { stage.finish() } else { sorter.finish(into: &ready) }
        }
        if let stage { ready = stage.takeReady() }
        if ready.isEmpty && progress == .inputEnded {
            progress = .done
            return nil
        }
        file.release(upTo: min(cursor.pos, sorter.oldestNeeded, sorter.posAtLastFlush))
        let out = ready
        // The next batch will be about as large: reserve now rather than grow by doubling (and copying).
        ready = SampleBatch()
        ready.samples.reserveCapacity(out.samples.count)
        ready.frames.reserveCapacity(out.frames.count)
        return out
    }

    /// `nextBatch()` with a merging thread: records are parsed here into chunks for it, and its batches are
    /// handed on as they come (most at the end: merged samples wait for the next side-band event).
    private func nextMergedBatch(_ worker: MergeWorker) -> SampleBatch? {
        while true {
            let sentLast = progress == .inputEnded
            let out = sentLast ? worker.outputs.take() : worker.outputs.tryTake()
            if let out {
                if let batch = out { return batch }
                progress = .done
                return nil
            }
            if sentLast {
                // The worker is gone without its last word (cannot happen unless the hand-off was cancelled).
                progress = .done
                return nil
            }
            while chunkSamples.count < PerfChunk.capacity && chunkControls.count < 1024 {
                if fastLayout != nil && !decompressor.hasPending {
                    fastSamples(limit: PerfChunk.capacity)
                    if chunkSamples.count >= PerfChunk.capacity { break }
                }
                if !step() {
                    endOfInput()
                    Timings.mark("all records parsed")
                    break
                }
            }
            // Hand the filled buffers over in a chunk, and keep its empty ones.
            let c = worker.free.tryTake() ?? PerfChunk()
            swap(&c.samples, &chunkSamples)
            swap(&c.frames, &chunkFrames)
            swap(&c.controls, &chunkControls)
            c.last = progress == .inputEnded
            guard worker.chunks.put(c) else { progress = .done; return nil }
        }
    }

    /// Handles the next record (a decompressed one first); false at the end of the input.
    @inline(__always)
    private func step() -> Bool {
        if decompressor.hasPending {
            let big = cursor.big
            if decompressor.withNextRecord(big: big, { handle($0, at: -1) }) { return true }
            // A partial record: it waits for the next compressed payload.
        }
        return nextRecord()
    }

    /// Handles the next record of the file; false at the end.
    private func nextRecord() -> Bool {
        switch cursor.next() {
        case .end:
            return false
        case .damaged(let what):
            stats.warnings.append("\(path): " + what)
            stats.drop("truncated record")
            return false
        case .record(let r):
            let type = r.u32(0)
            handle(r, at: cursor.pos)
            lastRecordType = type
            return advance(past: r, type: type)
        }
    }

    /// Moves the cursor past `r`; false (with a warning) when the data cannot be followed further.
    func advance(past r: RawRecord, type: UInt32) -> Bool {
        guard let what = cursor.advance(past: r, type: type) else { return true }
        stats.warnings.append("\(path): " + what)
        stats.drop("truncated record")
        return false
    }

    /// The end of the input: says what it leaves (a partial decompressed record, a pipe cut short).
    private func endOfInput() {
        progress = .inputEnded
        if decompressor.dropTail() {
            stats.drop("compressed tail")
        }
        if layout == .pipe && lastRecordType != PerfDataFormat.finishedRound && cursor.recordIndex > 0 {
            // perf ends every flush of a pipe with FINISHED_ROUND; a stream that does not was cut short.
            stats.warnings.append("\(path): the stream ends after record \(cursor.recordIndex - 1) (type \(lastRecordType)) instead of a FINISHED_ROUND record: it was probably cut short")
        }
    }
}
