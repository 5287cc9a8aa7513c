internal import CPerfShim
#if canImport(Glibc)
import Glibc
#endif

/// Decodes the records of a perf.data file into sample batches and side-band events.
///
/// Events are delivered in file order (perf itself re-sorts them by time within rounds; for the
/// attribution that xprof does, file order gives the same mappings and names in practice).
final class PerfDataSource: SampleSource {
    private(set) var metadata = RunMetadata()
    private(set) var stats = DecodeStats()
    let path: String
    private let file: PerfFileBytes
    private let big: Bool
    private let pipe: Bool
    private var attrs: [PerfAttr] = []
    private var idToAttr: [UInt64: Int] = [:]
    private var pos = 0
    private var end = 0
    private var recordIndex = 0
    /// Decompressed PERF_RECORD_COMPRESSED payloads still to parse (plus any partial record carried over).
    private var inflated: [UInt8] = []
    private var inflatedPos = 0
    private var compressedMax = 0
    private var guests: Set<UInt32> = []
    /// From PERF_RECORD_ID_INDEX entries that name a guest machine (`perf inject --guest-data` writes them):
    /// sample id → the VMM's pid and the vCPU. Guest samples with such an id belong to that machine.
    private var idMachine: [UInt64: (pid: UInt32, vcpu: UInt32)] = [:]
    private var done = false
    /// Per attr: what the sample hot loop reads (plain values).
    private var layouts: [PerfSampleLayout] = []
    /// Events decoded but not yet delivered, waiting to be put in time order (perf's ordered events):
    /// samples with their file sequence numbers, their callchains (`chainStart` indexes `pendingFrames`),
    /// and side-band events with theirs.
    private var pendingSamples = PlainBuffer<Sample>(capacity: 1 << 16)
    private var pendingSampleSeq = PlainBuffer<UInt64>(capacity: 1 << 16)
    /// Per pending sample: where its callchain is (`inFile` | file offset of the raw entries, else the index of
    /// its frames in `pendingFrames`); with a file reference, `chainCount` holds the raw entry count.
    private var pendingChain = PlainBuffer<UInt64>(capacity: 1 << 16)
    private var pendingFrames = PlainBuffer<CallFrame>(capacity: 1 << 16)
    private var pendingSideband = SidebandQueue()
    /// Scratch storage reused by every flush (no allocation per round once warmed up).
    private var order: [Int32] = []
    private var keptSamples = PlainBuffer<Sample>(capacity: 1 << 16)
    private var keptSampleSeq = PlainBuffer<UInt64>(capacity: 1 << 16)
    private var keptChain = PlainBuffer<UInt64>(capacity: 1 << 16)
    /// The lowest file offset a waiting sample still needs (pages before it can be handed back).
    private var oldestNeeded = Int.max
    /// Where the data was at the last flush: samples queued since then come from records at or after it.
    private var posAtLastFlush = 0
    private var keptFrames = PlainBuffer<CallFrame>(capacity: 1 << 16)
    /// Where one sample's callchain is assembled (room for the longest chain a record can hold, plus the ip).
    private let chainScratch = UnsafeMutableBufferPointer<CallFrame>.allocate(capacity: 8193)
    private var seq: UInt64 = 0
    /// Events ready for delivery, in time order.
    private var ready = SampleBatch()
    private var maxTimeSeen: UInt64 = 0
    private var flushLimit: UInt64 = 0
    private var ordered = false
    private var lastRecordType: UInt32 = 0
    /// Whether the consumer uses callchains; without, they are walked past but not decoded.
    private var callchains = true

    func setCallchainsWanted(_ wanted: Bool) { callchains = wanted }

    /// Whether identical samples are merged (the consumer only counts): then each sample is reduced to its
    /// merger key and hash on the spot, and a ``MergeStage`` puts them in order — on a thread of its own
    /// (`worker`, fed with `chunk`s) for a file on disk, here (`stage`) otherwise.
    private var merging = false
    private var stage: MergeStage?
    private var worker: MergeWorker?
    /// With a worker: the chunk being filled, as plain buffers here (no object reference in the per-sample
    /// path); moved into a ``PerfChunk`` when sent.
    private var piping = false
    private var chunkSamples = PlainBuffer<PerfChunk.Parsed>(capacity: PerfChunk.capacity)
    private var chunkFrames = PlainBuffer<CallFrame>(capacity: 1 << 15)
    private var chunkControls: [(before: Int, control: PerfChunk.Control)] = []
    private var sentLast = false

    /// The objects the merging and reading threads hold while they run (tests watch them go).
    var threadObjects: [AnyObject] { [worker as AnyObject?, reader as AnyObject?].compactMap { $0 } }

    func setMergingAllowed(_ allowed: Bool) {
        guard allowed, !merging else { return }
        merging = true
        // Merged samples keep no reference into the file: a mapped file is then read front to back through
        // a reused buffer instead of through the mapping.
        streaming = file.isMapped
        fastPath = streaming && !big && attrs.count == 1 && layouts[0].fixed && !layouts[0].splitsReads
        if fastPath {
            let a = layouts[0]
            cLayout = xprof_sample_layout(ip_at: Int32(a.ipAt), tid_at: Int32(a.tidAt), time_at: Int32(a.timeAt),
                                          cpu_at: Int32(a.cpuAt), period_at: Int32(a.periodAt), chain_at: Int32(a.chainAt),
                                          head: Int32(a.head), tail: Int32(a.tail), fixed_period: a.fixedPeriod)
        }
        let w = MergeWorker(ordered: ordered)
        if streaming && w.start() {
            worker = w
            piping = true
            let r = WindowReader(file: file, start: pos, end: end, stride: windowChoice.stride, inPlace: windowChoice.inPlace)
            if r.begin() { reader = r }
        } else {
            stage = MergeStage(ordered: ordered)
        }
    }

    /// Reading the records through `window` (see ``setMergingAllowed(_:)``): it holds the file's bytes
    /// `windowStart ..< windowEnd`.
    private var streaming = false
    private static let windowSize = 1 << 20
    private let ownWindow = UnsafeMutableRawPointer.allocate(byteCount: PerfDataSource.windowSize, alignment: 16)
    private var window: UnsafeRawPointer
    private var windowStart = 0
    private var windowEnd = 0
    /// With a merging thread, the file is read by reading threads (`reader`): `window` is then the buffer of
    /// window `windowIndex`.
    private var reader: WindowReader?
    private var windowIndex = -1

    /// Makes the window hold `o ..< o + n` (n ≤ 64 KiB + 8), reading from `o` on when it does not; false
    /// when the file ends (or cannot be read) before `o + n`.
    @inline(__always)
    private func windowHolds(_ o: Int, _ n: Int) -> Bool {
        if o >= windowStart && o + n <= windowEnd { return true }
        if let reader { return nextWindow(reader, holding: o, n) }
        let got = file.read(into: ownWindow, count: min(Self.windowSize, end - o), at: o)
        windowStart = o
        windowEnd = o + got
        return o + n <= windowEnd
    }

    /// `windowHolds` with a reader: moves on to the window whose first `stride` bytes hold `o`.
    private func nextWindow(_ reader: WindowReader, holding o: Int, _ n: Int) -> Bool {
        let want = (o - reader.start) / reader.stride
        while windowIndex < want {
            if windowIndex >= 0 { reader.give(windowIndex) }
            windowIndex += 1
            guard windowIndex < reader.windows else {
                windowStart = 0
                windowEnd = 0
                windowIndex = Int.max
                return false
            }
            let (buffer, count) = reader.take(windowIndex)
            window = buffer
            windowStart = reader.start + windowIndex * reader.stride
            windowEnd = windowStart + count
            if count < min(reader.size, reader.end - windowStart) {
                // Unreadable from here on: nothing after this window.
                windowIndex = Int.max
                break
            }
        }
        return o >= windowStart && o + n <= windowEnd
    }

    private var featureBuildIDs: [(String, String)] = []

    static let headerAttr: UInt32 = 64, headerEventType: UInt32 = 65, headerTracingData: UInt32 = 66
    static let headerBuildID: UInt32 = 67, finishedRound: UInt32 = 68, auxtrace: UInt32 = 71
    static let headerFeature: UInt32 = 80, compressed: UInt32 = 81, compressed2: UInt32 = 83
    /// Kernel and tool record types that carry nothing xprof needs (skipped without counting as unknown).
    static let ignored: Set<UInt32> = [5, 6, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 65, 70, 72, 73, 74,
                                       75, 76, 77, 78, 79, 82]

    /// The build-ids the file carries (hex id, path), as `perf buildid-list` shows them.
    var buildIDs: [(String, String)] { featureBuildIDs }

    /// Decodes a perf.data held in memory (tests, pipes).
    convenience init(bytes: [UInt8], path: String) throws(SampleIOError) {
        try self.init(file: PerfFileBytes(copying: bytes), path: path)
    }

    /// How the reading threads read a file on disk (see ``WindowReader``): in place or copied, and with
    /// which stride (nil: the reader's default). Tests choose both to cover each way.
    struct WindowChoice {
        var inPlace = true
        var stride: Int? = nil
    }
    private let windowChoice: WindowChoice

    init(file: PerfFileBytes, path: String, windows: WindowChoice = WindowChoice()) throws(SampleIOError) {
        self.file = file
        windowChoice = windows
        window = UnsafeRawPointer(ownWindow)
        let bytes = file
        self.path = path
        big = file.raw.starts(with: PerfDataFormat.magicBE)
        let c = file.cursor(from: 0, to: 104)
        let order: ByteOrder = big ? .big : .little
        let headerSize = Int(clamping: c.peek(UInt64.self, order, at: 8) ?? 0)
        pipe = headerSize == 16
        // Every stored property is set from here on, so a throw runs deinit, which frees the buffers (a
        // throw before this point leaked them: found by `make fuzz`).
        guard bytes.count >= 16 else {
            throw SampleIOError.truncated(expected: "a perf.data header (at least 16 bytes)", at: 0, found: bytes.count)
        }
        metadata.sourceFormat = "perf.data"
        if pipe {
            pos = 16
            end = bytes.count
            try readPipeHeaderRecords()
        } else {
            guard headerSize >= 104 else {
                throw SampleIOError(.badData, "perf.data header size \(headerSize), expected 16 (pipe) or at least 104 (file)",
                                    offset: 8, hint: "the file is corrupt or not a perf.data file")
            }
            guard bytes.count >= 104 else {
                throw SampleIOError.truncated(expected: "the 104-byte perf.data file header", at: 0, found: bytes.count)
            }
            let attrSize = Int(clamping: c.peek(UInt64.self, order, at: 16) ?? 0)
            let attrsOff = Int(clamping: c.peek(UInt64.self, order, at: 24) ?? 0)
            let attrsLen = Int(clamping: c.peek(UInt64.self, order, at: 32) ?? 0)
            let dataOff = Int(clamping: c.peek(UInt64.self, order, at: 40) ?? 0)
            let dataLen = Int(clamping: c.peek(UInt64.self, order, at: 48) ?? 0)
            guard attrSize >= 16 + 64, attrsLen % attrSize == 0 else {
                throw SampleIOError(.badData, "attr entry size \(attrSize) with an attr section of \(attrsLen) bytes: expected entries of at least 80 bytes that divide the section",
                                    offset: 16, hint: "the file header is corrupt")
            }
            guard attrsOff <= bytes.count, attrsLen <= bytes.count - attrsOff else {
                throw SampleIOError.truncated(expected: "the attr section (\(attrsLen) bytes at offset \(attrsOff))", at: attrsOff,
                                              found: max(0, bytes.count - attrsOff))
            }
            for i in 0..<(attrsLen / attrSize) {
                let at = attrsOff + i * attrSize
                var ac = file.cursor(from: at, to: at + attrSize)
                guard var a = PerfAttr.parse(ac, order: order, size: attrSize - 16) else {
                    throw SampleIOError(.badData, "attr \(i) is unreadable", offset: at)
                }
                _ = ac.skip(attrSize - 16)
                let idsOff = Int(clamping: ac.read(UInt64.self, order) ?? 0)
                let idsLen = Int(clamping: ac.read(UInt64.self, order) ?? 0)
                if idsLen > 0 {
                    guard idsOff <= bytes.count, idsLen <= bytes.count - idsOff else {
                        throw SampleIOError.truncated(expected: "the id list of attr \(i) (\(idsLen) bytes at \(idsOff))", at: idsOff)
                    }
                    var ic = file.cursor(from: idsOff, to: idsOff + idsLen)
                    while let id = ic.read(UInt64.self, order) { a.ids.append(id) }
                }
                addAttr(a)
            }
            guard !attrs.isEmpty else {
                throw SampleIOError(.badData, "the file describes no events (empty attr section)", offset: 24)
            }
            guard dataOff <= bytes.count else {
                throw SampleIOError.truncated(expected: "the data section at offset \(dataOff)", at: dataOff, found: bytes.count)
            }
            pos = dataOff
            if dataLen == 0 {
                end = bytes.count
                stats.warnings.append("\(path): the header's data size is 0: the recording was not finished (perf killed?); reading records up to the end of the file")
            } else if dataLen > bytes.count - dataOff {
                end = bytes.count
                stats.warnings.append("\(path): the data section should hold \(dataLen) bytes but the file ends after \(bytes.count - dataOff); reading what is there")
            } else {
                end = dataOff + dataLen
                readFeatures(c, order: order, featuresAt: dataOff + dataLen)
            }
        }
        finishMetadata()
    }

    deinit {
        chainScratch.deallocate()
        pendingSamples.release(); pendingSampleSeq.release(); pendingChain.release(); pendingFrames.release()
        keptSamples.release(); keptSampleSeq.release(); keptChain.release(); keptFrames.release()
        // The merging thread stops once it sees the hand-off cancelled (it holds nothing of this object).
        worker?.chunks.cancel()
        reader?.cancel()
        ownWindow.deallocate()
        chunkSamples.release(); chunkFrames.release()
        xprof_zstd_stream_free(zstd)
    }

    /// perf compresses its records as one zstd stream across PERF_RECORD_COMPRESSED records.
    private var zstd: UnsafeMutableRawPointer? = nil

    private func addAttr(_ a: PerfAttr) {
        let index = attrs.count
        attrs.append(a)
        layouts.append(PerfSampleLayout(a))
        for id in a.ids { idToAttr[id] = index }
    }

    private func finishMetadata() {
        if let a = attrs.first(where: { $0.sampleType & PerfAttr.read != 0 && $0.readFormat & PerfAttr.fmtGroup != 0
                                        && $0.readFormat & PerfAttr.fmtID == 0 }) {
            stats.warnings.append("\(path): the group read values of event '\(a.name.isEmpty ? a.defaultName : a.name)' carry no ids, so they cannot be told apart: each sample is counted once, as its own event with its own period (perf drops such values as unknown ids)")
        }
        // perf record --call-graph dwarf: samples carry a copy of the user stack and registers for perf report
        // to unwind; xprof does not unwind them (yet), which changes callchain views: say so.
        if let a = attrs.first(where: { $0.sampleType & PerfAttr.stackUser != 0 && $0.sampleType & PerfAttr.regsUser != 0 }) {
            stats.warnings.append("\(path): event '\(a.name.isEmpty ? a.defaultName : a.name)' was recorded with --call-graph dwarf (user stacks copied for unwinding); xprof does not unwind them, so callchains hold the kernel frames and the sampled user address only: --children, call graphs and flame graphs miss the user callers perf report shows (self columns are unaffected; record with --call-graph fp or lbr for xprof)")
        }
        // Order events by time as perf does, when every record carries a timestamp.
        ordered = attrs.allSatisfy { $0.sampleType & PerfAttr.time != 0 && $0.sampleIDAll }
        metadata.events = attrs.enumerated().map { i, a in
            EventInfo(name: a.name.isEmpty ? a.defaultName : a.name,
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

    // MARK: header features

    private func readFeatures(_ c: ByteCursor, order: ByteOrder, featuresAt: Int) {
        var bits: [Int] = []
        for word in 0..<4 {
            let w = c.peek(UInt64.self, order, at: 72 + word * 8) ?? 0
            for b in 0..<64 where w & (1 << UInt64(b)) != 0 { bits.append(word * 64 + b) }
        }
        var sc = file.cursor(from: featuresAt, to: featuresAt + 16 * bits.count)
        for bit in bits {
            guard let off = sc.read(UInt64.self, order), let len = sc.read(UInt64.self, order) else {
                stats.warnings.append("\(path): the feature table is cut short at feature \(bit); later features ignored")
                return
            }
            let o = Int(clamping: off), l = Int(clamping: len)
            guard o <= file.count, l <= file.count - o else {
                stats.warnings.append("\(path): feature \(bit) points outside the file (offset \(off), \(len) bytes); ignored")
                continue
            }
            parseFeature(bit, file.cursor(from: o, to: o + l), order: order)
        }
    }

    private func parseFeature(_ bit: Int, _ c: ByteCursor, order: ByteOrder) {
        var c = c
        func str() -> String? {
            guard let n = c.read(UInt32.self, order), let s = c.readFixedString(Int(n)) else { return nil }
            return s
        }
        switch bit {
        case 2:  // BUILD_ID: build_id_event records
            parseBuildIDEvents(&c, order: order)
        case 3: metadata.hostname = str() ?? ""
        case 4: metadata.kernelRelease = str() ?? ""
        case 5: metadata.extra["perf_version"] = str() ?? ""
        case 6: metadata.architecture = str() ?? ""
        case 7:
            _ = c.read(UInt32.self, order)
            metadata.cpusOnline = Int(c.read(UInt32.self, order) ?? 0)
        case 11:
            let n = Int(c.read(UInt32.self, order) ?? 0)
            var args: [String] = []
            for _ in 0..<min(n, 4096) { guard let s = str() else { break }; args.append(s) }
            metadata.command = args
        case 12:  // EVENT_DESC
            guard let nr = c.read(UInt32.self, order), let attrSize = c.read(UInt32.self, order), attrSize >= 64 else { return }
            for _ in 0..<min(Int(nr), 4096) {
                guard let a = PerfAttr.parse(c, order: order, size: Int(attrSize)), c.has(Int(attrSize)) else { return }
                _ = c.skip(Int(attrSize))
                guard let nids = c.read(UInt32.self, order), let name = str() else { return }
                var ids: [UInt64] = []
                for _ in 0..<min(Int(nids), 1 << 20) { if let id = c.read(UInt64.self, order) { ids.append(id) } }
                // Name the attr this description belongs to (by id, else by identical config).
                if let i = ids.lazy.compactMap({ self.idToAttr[$0] }).first {
                    attrs[i].name = name
                } else if let i = attrs.firstIndex(where: { $0.type == a.type && $0.config == a.config && $0.name.isEmpty }) {
                    attrs[i].name = name
                }
            }
        case 27:  // COMPRESSED: version, type, level, ratio, mmap_len
            _ = c.read(UInt32.self, order); _ = c.read(UInt32.self, order); _ = c.read(UInt32.self, order)
            _ = c.read(UInt32.self, order)
            compressedMax = Int(clamping: c.read(UInt64.self, order) ?? 0)
        default:
            break
        }
    }

    private func parseBuildIDEvents(_ c: inout ByteCursor, order: ByteOrder) {
        while c.remaining >= 8 {
            let start = c.offset
            guard c.read(UInt32.self, order) != nil, let misc = c.read(UInt16.self, order),
                  let size = c.read(UInt16.self, order), size >= 8 + 4 + 24, c.has(Int(size) - 8) else { return }
            _ = c.read(UInt32.self, order)  // pid
            guard let raw = c.readBytes(24) else { return }
            var idLen = 20
            if misc & (1 << 15) != 0 { idLen = min(20, Int(raw[raw.startIndex + 20])) }  // PERF_RECORD_MISC_BUILD_ID_SIZE
            let name = c.readFixedString(Int(size) - 8 - 4 - 24) ?? ""
            let id = raw.prefix(idLen).map { String(format2: $0) }.joined()
            featureBuildIDs.append((id, name))
            _ = c.seek(to: start + Int(size))
        }
    }

    // MARK: pipe mode

    /// Reads the header records at the start of a pipe-mode stream (attrs, features, build-ids).
    private func readPipeHeaderRecords() throws(SampleIOError) {
        while pos + 8 <= end {
            let r = recordAt(pos)
            guard let r else { break }
            let type = r.u32(0)
            guard type >= 64 else { break }
            let size = Int(r.u16(6))
            switch type {
            case Self.headerAttr:
                guard size >= 8 + 64 else {
                    throw SampleIOError(.badData, "HEADER_ATTR record of \(size) bytes, expected at least 72", offset: pos)
                }
                let c = file.cursor(from: pos + 8, to: pos + size)
                let attrSize = Int(c.peek(UInt32.self, big ? .big : .little, at: 4) ?? 0)
                guard attrSize >= 64, attrSize <= size - 8, var a = PerfAttr.parse(c, order: big ? .big : .little, size: attrSize) else {
                    throw SampleIOError(.badData, "HEADER_ATTR record holds an attr of size \(attrSize) in \(size - 8) bytes", offset: pos)
                }
                var ic = file.cursor(from: pos + 8 + attrSize, to: pos + size)
                while let id = ic.read(UInt64.self, big ? .big : .little) { a.ids.append(id) }
                addAttr(a)
            case Self.headerFeature:
                let c = file.cursor(from: pos + 8, to: pos + size)
                let feat = Int(clamping: c.peek(UInt64.self, big ? .big : .little, at: 0) ?? 0)
                parseFeature(feat, file.cursor(from: pos + 16, to: pos + size), order: big ? .big : .little)
            case Self.headerBuildID:
                var c = file.cursor(from: pos, to: pos + size)
                parseBuildIDEvents(&c, order: big ? .big : .little)
            default:
                break
            }
            guard advance(past: r, type: type) else { break }
            recordIndex += 1
        }
        guard !attrs.isEmpty else {
            throw SampleIOError(.badData, "pipe-mode perf.data without a HEADER_ATTR record before its first event",
                                offset: pos, hint: "the stream is incomplete; record it again")
        }
    }

    /// The record at `o` if its header is complete and its size fits (else nil).
    private func recordAt(_ o: Int) -> RawRecord? {
        guard o >= 0, o + 8 <= end else { return nil }
        if streaming {
            guard windowHolds(o, 8) else { return nil }
            let v = window.loadUnaligned(fromByteOffset: o - windowStart + 6, as: UInt16.self)
            let size = Int(big ? v.byteSwapped : v)
            guard size >= 8, o + size <= end, windowHolds(o, size) else { return nil }
            return RawRecord(p: UnsafeRawBufferPointer(start: window + (o - windowStart), count: size), big: big)
        }
        let raw = file.raw
        let v = raw.loadUnaligned(fromByteOffset: o + 6, as: UInt16.self)
        let size = Int(big ? v.byteSwapped : v)
        guard size >= 8, o + size <= end else { return nil }
        return RawRecord(p: UnsafeRawBufferPointer(rebasing: raw[o..<(o + size)]), big: big)
    }

    /// Bytes that follow a record in the stream without being part of it (tracing data, AUX data), as the
    /// record says (a damaged one may say up to 2^64 - 1: ``advance(past:type:)`` checks it).
    private func extraBytes(after r: RawRecord, type: UInt32) -> UInt64 {
        switch type {
        case Self.headerTracingData where r.count >= 12:
            return (UInt64(r.u32(8)) + 7) & ~7
        case Self.auxtrace where r.count >= 16:
            return r.u64(8)
        default:
            return 0
        }
    }

    /// Moves `pos` past the record `r` at `pos` and the bytes that follow it; false (with a warning, at the
    /// end of the data) when those bytes run past the end of the data section. Compared against the bytes
    /// remaining, so a size near 2^64 cannot overflow.
    private func advance(past r: RawRecord, type: UInt32) -> Bool {
        let extra = extraBytes(after: r, type: type)
        let remaining = end - pos - r.count  // >= 0: recordAt checked the record fits
        guard extra <= UInt64(remaining) else {
            let name = type == Self.auxtrace ? "AUXTRACE" : "HEADER_TRACING_DATA"
            stats.warnings.append("\(path): the \(name) record \(recordIndex) at byte \(pos) says \(extra) bytes follow it, but only \(remaining) remain in the data section; the rest of the data cannot be found and is ignored (the file is damaged or cut short)")
            stats.drop("truncated record")
            pos = end
            return false
        }
        pos += r.count + Int(extra)
        return true
    }

    // MARK: records

    func nextBatch() throws(SampleIOError) -> SampleBatch? {
        if done { return nil }
        if let worker { return nextMergedBatch(worker) }
        while !exhausted && ready.samples.count < 16384 && (stage?.ready.samples.count ?? 0) < 16384 {
            if fastPath && inflatedPos >= inflated.count { fastSamples(limit: Int.max) }
            if !step() { exhausted = true }
        }
        if exhausted {
            endOfInput()
            if let stage { stage.finish() } else { flush(upTo: UInt64.max) }
        }
        if let stage { ready = stage.takeReady() }
        if ready.isEmpty && exhausted {
            done = true
            return nil
        }
        file.release(upTo: min(pos, oldestNeeded, posAtLastFlush))
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
            let out = sentLast ? worker.outputs.take() : worker.outputs.tryTake()
            if let out {
                if let batch = out { return batch }
                done = true
                return nil
            }
            if sentLast {
                // The worker is gone without its last word (cannot happen unless the hand-off was cancelled).
                done = true
                return nil
            }
            while chunkSamples.count < PerfChunk.capacity && chunkControls.count < 1024 {
                if fastPath && inflatedPos >= inflated.count {
                    fastSamples(limit: PerfChunk.capacity)
                    if chunkSamples.count >= PerfChunk.capacity { break }
                }
                if !step() {
                    endOfInput()
                    sentLast = true
                    Timings.mark("all records parsed")
                    break
                }
            }
            // Hand the filled buffers over in a chunk, and keep its empty ones.
            let c = worker.free.tryTake() ?? PerfChunk()
            swap(&c.samples, &chunkSamples)
            swap(&c.frames, &chunkFrames)
            swap(&c.controls, &chunkControls)
            c.last = sentLast
            guard worker.chunks.put(c) else { done = true; return nil }
        }
    }

    /// Whether ``fastSamples(limit:)`` applies: merging a little-endian file of one event whose samples have
    /// a fixed layout, read through the window. Set when merging starts.
    private var fastPath = false
    private var cLayout = xprof_sample_layout()

    /// The bulk of a large recording in one tight loop: consecutive samples of the host or hypervisor,
    /// parsed from the window and handed to the merging stage (or the chunk for its thread) with no call
    /// per record. Stops at anything else — another record type, a guest sample, a sample it cannot parse,
    /// the end of the window, `limit` samples in the chunk — which ``step()`` then handles as usual.
    private func fastSamples(limit: Int) {
        if piping {
            // The C loop parses straight into the chunk (callchains, when wanted, decoded into its frames).
            let we = min(windowEnd, end)
            guard pos >= windowStart, pos < we else { return }
            var used = 0, written = 0
            var layout = cLayout
            let room = max(0, limit - chunkSamples.count)
            let from = window.assumingMemoryBound(to: UInt8.self) + (pos - windowStart), length = we - pos
            if callchains {
                var frames = chunkFrames
                chunkSamples.append(upTo: room) { out in
                    frames.grow(by: 1 << 16) { base, count in
                        var framesUsed = count
                        base.withMemoryRebound(to: xprof_frame.self, capacity: count + (1 << 16)) { f in
                            used = xprof_perf_fast_samples(from, length, &layout, out, room, &written, f, count + (1 << 16), &framesUsed)
                        }
                        return framesUsed
                    }
                    return written
                }
                chunkFrames = frames
            } else {
                chunkSamples.append(upTo: room) { out in
                    used = xprof_perf_fast_samples(from, length, &layout, out, room, &written, nil, 0, nil)
                    return written
                }
            }
            if used > 0 {
                pos += used
                recordIndex += written
                lastRecordType = 9
            }
            return
        }
        let a = layouts[0]
        // The layout's offsets as locals (no optional fields: absent ones read as their "unknown" value).
        let ipAt = a.ipAt, tidAt = a.tidAt, timeAt = a.timeAt, cpuAt = a.cpuAt, periodAt = a.periodAt
        let chainAt = a.chainAt, head = a.head, tail = a.tail, fixedPeriod = a.fixedPeriod
        let wantChains = callchains
        let scratch = chainScratch
        let base = window
        let ws = windowStart, we = min(windowEnd, end)
        var o = pos
        var n = 0
        var samples = chunkSamples, frames = chunkFrames
        let st = stage
        while o + 8 <= we && samples.count < limit {
            let p = base + (o - ws)
            let size = Int(p.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
            let cpumode = p.loadUnaligned(fromByteOffset: 4, as: UInt16.self) & 7
            guard p.loadUnaligned(as: UInt32.self) == 9, size >= 8, o + size <= we, cpumode != 4, cpumode != 5 else { break }
            let r = RawRecord(p: UnsafeRawBufferPointer(start: p, count: size), big: false)
            // PerfSampleFields.parseFixed, spelled out here so that nothing but loads remains.
            var chainCount = 0
            var bodyEnd = head
            if chainAt >= 0 {
                guard size >= head + 8 else { break }
                let nr = p.loadUnaligned(fromByteOffset: chainAt, as: UInt64.self)
                guard nr <= UInt64((size - head - 8) / 8) else { break }
                chainCount = Int(nr)
                bodyEnd = head + 8 + chainCount * 8
            }
            guard size - bodyEnd >= tail else { break }
            let ip = ipAt >= 0 ? p.loadUnaligned(fromByteOffset: ipAt, as: UInt64.self) : 0
            let pidTid = tidAt >= 0 ? p.loadUnaligned(fromByteOffset: tidAt, as: UInt64.self) : UInt64.max
            let pid = UInt32(truncatingIfNeeded: pidTid), tid = UInt32(truncatingIfNeeded: pidTid >> 32)
            let time = timeAt >= 0 ? p.loadUnaligned(fromByteOffset: timeAt, as: UInt64.self) : 0
            let cpu = cpuAt >= 0 ? p.loadUnaligned(fromByteOffset: cpuAt, as: UInt32.self) : UInt32.max
            let weight = periodAt >= 0 ? p.loadUnaligned(fromByteOffset: periodAt, as: UInt64.self) : fixedPeriod
            let dom: DomainID, mode: SampleMode
            switch cpumode {
            case 1: (dom, mode) = (.host, .kernel)
            case 2: (dom, mode) = (.host, .user)
            case 3: (dom, mode) = (.hypervisor, .hypervisor)
            default: (dom, mode) = (.host, .unknown)
            }
            var chain = UnsafeBufferPointer<CallFrame>(start: nil, count: 0)
            if chainCount > 0 && wantChains {
                guard chainCount < scratch.count else { break }
                let range = Self.decodeChain(r, at: chainAt + 8, count: chainCount, ip: ip, mode: mode, into: scratch)
                chain = UnsafeBufferPointer(rebasing: scratch[range])
            }
            let key = SampleMerger.Key(ip: ip, pid: pid == UInt32.max ? -1 : Int32(bitPattern: pid),
                                       tid: tid == UInt32.max ? -1 : Int32(bitPattern: tid), domain: dom,
                                       pcpu: cpu, vcpu: dom == .host ? cpu : Sample.unknownCPU, event: 0, mode: mode)
            let h = SampleMerger.hash(key, chain)
            if let st {
                st.sample(key, hash: h, chain: chain, time: time, weight: weight)
            } else {
                samples.append(PerfChunk.Parsed(ip: key.ip, threads: key.threads, place: key.place, cpus: key.cpus,
                                                hash: h, time: time, weight: weight,
                                                chain_start: UInt32(truncatingIfNeeded: frames.count),
                                                chain_count: UInt32(truncatingIfNeeded: chain.count)))
                frames.append(contentsOf: chain)
            }
            o += size
            n += 1
        }
        chunkSamples = samples
        chunkFrames = frames
        if n > 0 {
            pos = o
            recordIndex += n
            lastRecordType = 9
        }
    }

    /// Handles the next record (a decompressed one first); false at the end of the input.
    @inline(__always)
    private func step() -> Bool {
        // Records decompressed from PERF_RECORD_COMPRESSED come first.
        if inflatedPos < inflated.count {
            let consumed = inflated.withUnsafeBytes { raw -> Int in
                let avail = raw.count - inflatedPos
                guard avail >= 8 else { return 0 }
                let v = raw.loadUnaligned(fromByteOffset: inflatedPos + 6, as: UInt16.self)
                let size = Int(big ? v.byteSwapped : v)
                guard size >= 8, size <= avail else { return 0 }
                let r = RawRecord(p: UnsafeRawBufferPointer(rebasing: raw[inflatedPos..<(inflatedPos + size)]), big: big)
                handle(r, at: -1)
                return size
            }
            if consumed == 0 {
                // A partial record: keep it and append the next compressed payload to it.
                inflated.removeSubrange(0..<inflatedPos)
                inflatedPos = 0
                return nextRecord()
            }
            inflatedPos += consumed
            return true
        }
        return nextRecord()
    }

    /// What the end of the input says: a partial decompressed record left over, a pipe cut short (once).
    private func endOfInput() {
        if inflatedPos < inflated.count {
            stats.drop("compressed tail")
            inflatedPos = inflated.count
        }
        if pipe && !endChecked && lastRecordType != Self.finishedRound && recordIndex > 0 {
            // perf ends every flush of a pipe with FINISHED_ROUND; a stream that does not was cut short.
            stats.warnings.append("\(path): the stream ends after record \(recordIndex - 1) (type \(lastRecordType)) instead of a FINISHED_ROUND record: it was probably cut short")
        }
        endChecked = true
    }
    private var endChecked = false
    /// No record is left (``step()`` said so).
    private var exhausted = false

    /// Moves the pending events with time ≤ `limit` to `ready`, in (time, file order).
    ///
    /// Sorts index arrays (not the events), skips the sort when the round is already in time order, and
    /// copies each callchain once into `ready` (or once into the kept arena when it must wait).
    /// - Complexity: O(n log n) in the pending events; no allocation once the scratch arrays have grown.
    private func flush(upTo limit: UInt64) {
        if pendingSamples.isEmpty && pendingSideband.isEmpty { return }
        // Samples in (time, seq) order.
        order.removeAll(keepingCapacity: true)
        var inOrder = true
        var anyChain = false
        do {
            let smp = pendingSamples.buffer, seq = pendingSampleSeq.buffer
            do {
                var prevTime: UInt64 = 0, prevSeq: UInt64 = 0
                for i in 0..<smp.count {
                    let t = smp[i].time, q = seq[i]
                    if smp[i].chainCount != 0 { anyChain = true }
                    if t < prevTime || (t == prevTime && q < prevSeq) { inOrder = false }
                    prevTime = t
                    prevSeq = q
                    order.append(Int32(truncatingIfNeeded: i))
                }
                if !inOrder {
                    order.sort { a, b in
                        let ta = smp[Int(a)].time, tb = smp[Int(b)].time
                        return ta != tb ? ta < tb : seq[Int(a)] < seq[Int(b)]
                    }
                }
            }
        }
        if !anyChain && pendingSideband.isEmpty {
            flushPlainSamples(upTo: limit)
            return
        }
        pendingSideband.sortByTime()
        keptSamples.removeAll()
        keptSampleSeq.removeAll()
        keptChain.removeAll()
        keptFrames.removeAll()
        oldestNeeded = Int.max
        posAtLastFlush = pos
        var nextSideband = 0
        let raw = file.raw, big = self.big, scratch = chainScratch
        do {
            let frames = pendingFrames.buffer
            for oi in order {
                let i = Int(oi)
                var smp = pendingSamples[i]
                let q = pendingSampleSeq[i]
                // Side-band events that come before this sample (and are due) go first.
                while nextSideband < pendingSideband.count {
                    let (e, eq) = pendingSideband[nextSideband]
                    guard e.time <= limit, e.time < smp.time || (e.time == smp.time && eq < q) else { break }
                    ready.append(e.event, time: e.time)
                    nextSideband += 1
                }
                if smp.chainCount == 0 {
                    if smp.time <= limit {
                        ready.samples.append(smp)
                    } else {
                        keptSamples.append(smp)
                        keptSampleSeq.append(q)
                        keptChain.append(0)
                    }
                    continue
                }
                let ref = pendingChain[i]
                if ref & Self.inFile != 0 {
                    let at = Int(ref & ~Self.inFile), count = Int(smp.chainCount)
                    if smp.time <= limit {
                        let r = RawRecord(p: UnsafeRawBufferPointer(rebasing: raw[at..<(at + 8 * count)]), big: big)
                        let range = Self.decodeChain(r, at: 0, count: count, ip: smp.ip, mode: smp.mode, into: scratch)
                        smp.chainStart = UInt32(truncatingIfNeeded: ready.frames.count)
                        smp.chainCount = UInt32(truncatingIfNeeded: range.count)
                        ready.frames.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[range]))
                        ready.samples.append(smp)
                    } else {
                        keptSamples.append(smp)
                        keptSampleSeq.append(q)
                        keptChain.append(ref)
                        oldestNeeded = min(oldestNeeded, at)
                    }
                    continue
                }
                let start = Int(smp.chainStart), count = Int(smp.chainCount)
                let chain = count > 0 && start + count <= frames.count
                    ? UnsafeBufferPointer(rebasing: frames[start..<(start + count)]) : UnsafeBufferPointer(start: nil, count: 0)
                if smp.time <= limit {
                    smp.chainStart = chain.isEmpty ? 0 : UInt32(truncatingIfNeeded: ready.frames.count)
                    smp.chainCount = UInt32(truncatingIfNeeded: chain.count)
                    ready.frames.append(contentsOf: chain)
                    ready.samples.append(smp)
                } else {
                    smp.chainStart = chain.isEmpty ? 0 : UInt32(truncatingIfNeeded: keptFrames.count)
                    smp.chainCount = UInt32(truncatingIfNeeded: chain.count)
                    keptChain.append(UInt64(keptFrames.count))
                    keptFrames.append(contentsOf: chain)
                    keptSamples.append(smp)
                    keptSampleSeq.append(q)
                }
            }
        }
        while nextSideband < pendingSideband.count {
            let e = pendingSideband[nextSideband].record
            guard e.time <= limit else { break }
            ready.append(e.event, time: e.time)
            nextSideband += 1
        }
        pendingSideband.removeFirst(nextSideband)
        swap(&pendingSamples, &keptSamples)
        swap(&pendingSampleSeq, &keptSampleSeq)
        swap(&pendingChain, &keptChain)
        swap(&pendingFrames, &keptFrames)
    }

    /// `flush(upTo:)` when `order` is ready and the pending events are samples without callchains: the due
    /// ones (a prefix of `order`) are gathered into `ready` in one block, the rest kept in order.
    private func flushPlainSamples(upTo limit: UInt64) {
        posAtLastFlush = pos
        oldestNeeded = Int.max
        let n = order.count
        let smp = pendingSamples.buffer, seq = pendingSampleSeq.buffer
        order.withUnsafeBufferPointer { ord in
            var due = 0
            while due < n && smp[Int(ord[due])].time <= limit { due += 1 }
            ready.samples.append(contentsOf: (0..<due).lazy.map { smp[Int(ord[$0])] })
            keptSamples.removeAll()
            keptSampleSeq.removeAll()
            keptChain.removeAll()
            for k in due..<n {
                keptSamples.append(smp[Int(ord[k])])
                keptSampleSeq.append(seq[Int(ord[k])])
                keptChain.append(0)
            }
        }
        swap(&pendingSamples, &keptSamples)
        swap(&pendingSampleSeq, &keptSampleSeq)
        swap(&pendingChain, &keptChain)
        pendingFrames.removeAll()
    }

    /// Queues a decoded sample; `chain` says where its callchain is (see `pendingChain`).
    private func queue(_ s: Sample, chain: UInt64) {
        if !ordered {
            // File order: straight to delivery.
            var c = s
            if c.chainCount > 0 {
                c.chainStart = UInt32(truncatingIfNeeded: ready.frames.count)
                ready.frames.append(contentsOf: pendingFrames.buffer)
                pendingFrames.removeAll()
            } else {
                c.chainStart = 0
            }
            ready.samples.append(c)
            return
        }
        pendingSamples.append(s)
        pendingSampleSeq.append(seq)
        pendingChain.append(chain)
        seq += 1
        if s.time > maxTimeSeen { maxTimeSeen = s.time }
        if pendingSamples.count >= 1 << 21 { flush(upTo: maxTimeSeen) }
    }

    /// Queues a side-band event.
    private func queue(_ e: SidebandEvent, time: UInt64) {
        if merging {
            if piping { chunkControls.append((chunkSamples.count, .sideband(e, time: time))) } else { stage?.sideband(e, time: time) }
            return
        }
        if !ordered {
            ready.append(e, time: time)
            return
        }
        pendingSideband.append(e, time: time, seq: seq)
        seq += 1
        maxTimeSeen = max(maxTimeSeen, time)
    }

    /// Handles the next record of the file; false at the end.
    private func nextRecord() -> Bool {
        guard pos < end else { return false }
        guard pos + 8 <= end else {
            stats.warnings.append("\(path): the data ends inside a record header at byte \(pos) (record \(recordIndex)); the last \(end - pos) bytes are ignored")
            stats.drop("truncated record")
            pos = end
            return false
        }
        guard let r = recordAt(pos) else {
            let v = file.raw.loadUnaligned(fromByteOffset: pos + 6, as: UInt16.self)
            let size = big ? v.byteSwapped : v
            if size < 8 {
                stats.warnings.append("\(path): record \(recordIndex) at byte \(pos) has size \(size) (at least 8 expected); the data after it cannot be read and is ignored")
            } else {
                stats.warnings.append("\(path): record \(recordIndex) at byte \(pos) needs \(size) bytes but only \(end - pos) remain (truncated file); ignored")
            }
            stats.drop("truncated record")
            pos = end
            return false
        }
        let type = r.u32(0)
        handle(r, at: pos)
        lastRecordType = type
        guard advance(past: r, type: type) else { return false }
        recordIndex += 1
        return true
    }

    /// Finds the attr index of a sample: by IDENTIFIER/ID at the position the first attr's sample_type gives.
    @inline(__always)
    private func sampleAttr(_ r: RawRecord) -> Int? {
        if attrs.count == 1 { return 0 }
        let t = layouts[0].sampleType
        var o = 8
        if t & PerfAttr.identifier != 0 {
            guard r.count >= 16 else { return nil }
        } else if t & PerfAttr.id != 0 {
            for bit in [PerfAttr.ip, PerfAttr.tid, PerfAttr.time, PerfAttr.addr] where t & bit != 0 { o += 8 }
            guard r.count >= o + 8 else { return nil }
        } else {
            return 0
        }
        return idToAttr[r.u64(o)]
    }

    private func domain(cpumode: UInt16, pid: UInt32) -> (DomainID, SampleMode) {
        switch cpumode & 7 {
        case 1: return (.host, .kernel)
        case 2: return (.host, .user)
        case 3: return (.hypervisor, .hypervisor)
        case 4, 5:
            // A KVM guest is identified by its VMM process (the pid that ran the vCPU thread).
            let g = pid == UInt32.max ? 0xFFFF_0000 : pid
            if !guests.contains(g) {
                guests.insert(g)
                metadata.domains.append(DomainInfo(id: DomainID(g), name: "guest-\(g)", role: .passive))
            }
            return (DomainID(g), cpumode & 7 == 4 ? .kernel : .user)
        default: return (.host, .unknown)
        }
    }

    /// Marks a pending sample's chain reference as a byte offset into the file (else an index into `pendingFrames`).
    static let inFile: UInt64 = 1 << 63

    /// Turns `count` raw callchain entries at byte `at` of `r` into frames in `buf` (which holds at least
    /// `count + 1`): PERF_CONTEXT_* markers dropped, each frame in the mode of the marker before it, and the
    /// sampled ip first (added when the chain does not start with it). Returns where the frames are in `buf`.
    @inline(__always)
    static func decodeChain(_ r: RawRecord, at: Int, count: Int, ip: UInt64, mode: SampleMode,
                            into buf: UnsafeMutableBufferPointer<CallFrame>) -> Range<Int> {
        var n = 1
        var frameMode = mode
        for k in 0..<count {
            let v = r.u64(at + 8 * k)
            if v >= 0xFFFF_FFFF_FFFF_F001 {  // PERF_CONTEXT_* markers (-4095 … -1)
                switch Int64(bitPattern: v) {
                case -32: frameMode = .hypervisor
                case -128, -2176: frameMode = .kernel
                case -512, -2560: frameMode = .user
                default: break
                }
                continue
            }
            buf[n] = CallFrame(ip: v, mode: frameMode)
            n += 1
        }
        if n > 1 && buf[1].ip == ip { return 1..<n }
        buf[0] = CallFrame(ip: ip, mode: mode)
        return 0..<n
    }

    /// perf's counter values per id, for samples with PERF_SAMPLE_READ (see ``PerfReadValues``).
    private var readValues = PerfReadValues()

    /// Hands one sample of the record `r` (at file offset `offset`, -1 when decompressed) on: to the merging
    /// stage, or to the time-ordering queue. `chainDecoded`: the record's callchain is already in
    /// `chainScratch` at `decodedChain` (another sample of the same record, a group member's, decoded it).
    @inline(__always)
    private func deliver(_ sample: Sample, _ f: PerfSampleFields, _ r: RawRecord, at offset: Int, chainDecoded: Bool = false) {
        var s = sample
        let mode = s.mode
        if merging {
            var chain = UnsafeBufferPointer<CallFrame>(start: nil, count: 0)
            if f.chainCount > 0 && callchains {
                if !chainDecoded {
                    decodedChain = Self.decodeChain(r, at: f.chainOffset, count: f.chainCount, ip: f.ip, mode: mode, into: chainScratch)
                }
                chain = UnsafeBufferPointer(rebasing: chainScratch[decodedChain])
            }
            let key = SampleMerger.Key(s)
            let h = SampleMerger.hash(key, chain)
            if piping {
                chunkSamples.append(PerfChunk.Parsed(ip: key.ip, threads: key.threads, place: key.place, cpus: key.cpus,
                                                     hash: h, time: s.time, weight: s.weight,
                                                     chain_start: UInt32(truncatingIfNeeded: chunkFrames.count),
                                                     chain_count: UInt32(truncatingIfNeeded: chain.count)))
                chunkFrames.append(contentsOf: chain)
            } else {
                stage?.sample(key, hash: h, chain: chain, time: s.time, weight: s.weight)
            }
            return
        }
        var chainRef: UInt64 = 0
        if f.chainCount > 0 && callchains {
            if ordered && offset >= 0 {
                // Waiting for its round: keep only where the chain is in the mapped file and decode it
                // once, straight into the batch, when the sample is delivered.
                s.chainCount = UInt32(truncatingIfNeeded: f.chainCount)
                chainRef = Self.inFile | UInt64(offset + f.chainOffset)
            } else {
                if !chainDecoded {
                    decodedChain = Self.decodeChain(r, at: f.chainOffset, count: f.chainCount, ip: f.ip, mode: mode, into: chainScratch)
                }
                let start = pendingFrames.count
                pendingFrames.append(contentsOf: UnsafeBufferPointer(rebasing: chainScratch[decodedChain]))
                s.chainStart = UInt32(truncatingIfNeeded: start)
                s.chainCount = UInt32(truncatingIfNeeded: decodedChain.count)
                chainRef = UInt64(start)
            }
        }
        queue(s, chain: chainRef)
    }
    /// Where the last decoded callchain is in `chainScratch`.
    private var decodedChain = 0..<0

    private func handle(_ r: RawRecord, at offset: Int) {
        let type = r.u32(0)
        let misc = r.u16(4)
        switch type {
        case 9:  // SAMPLE
            guard let ai = sampleAttr(r) else {
                stats.drop("sample (unknown event id)")
                return
            }
            let attr = layouts[ai]
            let event = UInt16(truncatingIfNeeded: ai)
            guard attr.sampleType & ~PerfAttr.known == 0, let f = PerfSampleFields.parse(r, layout: attr) else {
                stats.drop("sample")
                if stats.droppedRecords["sample", default: 0] <= 3 {
                    stats.warnings.append("\(path): sample record \(recordIndex) at byte \(offset) is shorter than its sample_type 0x\(String(attr.sampleType, radix: 16)) needs; dropped")
                }
                return
            }
            // A guest sample's machine: the VMM of its id's index entry when the file has one, else the sampled pid.
            let guest = misc & 7 == 4 || misc & 7 == 5
            let machine = guest && !idMachine.isEmpty ? idMachine[f.id] : nil
            let (dom, mode) = domain(cpumode: misc, pid: machine?.pid ?? f.pid)
            let s = Sample(ip: f.ip, weight: attr.sampleType & PerfAttr.period != 0 ? f.period : attr.fixedPeriod,
                           time: f.time, pid: f.pid == UInt32.max ? -1 : Int32(bitPattern: f.pid),
                           tid: f.tid == UInt32.max ? -1 : Int32(bitPattern: f.tid), domain: dom,
                           pcpu: f.cpu, vcpu: dom == .host ? f.cpu : (machine?.vcpu ?? Sample.unknownCPU), event: event, mode: mode)
            if f.chainCount > 0 && callchains && f.chainCount >= chainScratch.count {
                // A record holds at most 65535 bytes, so at most 8191 entries (the scratch holds them all).
                stats.drop("sample (callchain too long)")
                return
            }
            guard attr.splitsReads && f.readAt >= 0 else {
                deliver(s, f, r, at: offset)
                return
            }
            // PERF_SAMPLE_READ with ids: perf's samples are the counters' increments, one per changed value,
            // each of the event that owns the value's id (PerfReadValues).
            var chainDecoded = false
            PerfReadValues.forEach(in: r, at: f.readAt, readFormat: attr.readFormat) { id, value in
                guard let member = idToAttr[id] else {
                    stats.drop("read value (unknown event id)")
                    return
                }
                let period = readValues.period(id: id, value: value)
                guard period != 0 else { return }
                var m = s
                m.event = UInt16(truncatingIfNeeded: member)
                m.weight = period
                deliver(m, f, r, at: offset, chainDecoded: chainDecoded)
                chainDecoded = true
            }
        case 1, 10:  // MMAP, MMAP2
            guard r.count >= 40 else { stats.drop("mmap"); return }
            let pid = r.u32(8)
            var nameAt = 40
            var buildID: [UInt8] = []
            var exec = true
            if type == 10 {
                guard r.count >= 72 else { stats.drop("mmap2"); return }
                if misc & (1 << 14) != 0 {  // PERF_RECORD_MISC_MMAP_BUILD_ID
                    let n = min(20, Int(r.p[40]))
                    buildID = Array(r.p[44..<(44 + n)])
                }
                exec = r.u32(64) & 4 != 0
                nameAt = 72
            } else {
                exec = misc & (1 << 13) == 0  // PERF_RECORD_MISC_MMAP_DATA
            }
            let file = r.string(nameAt)
            let cpumode = misc & 7
            let kernel = cpumode == 1 || cpumode == 4 || pid == UInt32.max
            var dom = DomainID.host
            if cpumode == 4 || cpumode == 5 {
                dom = domain(cpumode: cpumode, pid: pid).0
            }
            let m = Mapping(domain: dom, pid: kernel ? -1 : Int32(bitPattern: pid), start: r.u64(16), length: r.u64(24),
                            fileOffset: r.u64(32), path: file, buildID: buildID, executable: exec)
            queue(.mapping(m), time: trailerTime(r))
        case 3:  // COMM
            guard r.count >= 16 else { stats.drop("comm"); return }
            queue(.comm(domain: .host, pid: Int32(bitPattern: r.u32(8)), tid: Int32(bitPattern: r.u32(12)),
                               name: r.string(16), exec: misc & (1 << 13) != 0), time: trailerTime(r))
        case 4, 7:  // EXIT, FORK
            guard r.count >= 32 else { stats.drop(type == 7 ? "fork" : "exit"); return }
            let pid = Int32(bitPattern: r.u32(8)), ppid = Int32(bitPattern: r.u32(12))
            let tid = Int32(bitPattern: r.u32(16)), ptid = Int32(bitPattern: r.u32(20))
            if type == 7 {
                queue(.fork(domain: .host, pid: pid, ppid: ppid, tid: tid, ptid: ptid), time: r.u64(24))
            } else {
                queue(.exit(domain: .host, pid: pid, tid: tid), time: r.u64(24))
            }
        case 69:  // ID_INDEX: u64 nr, nr × {id, idx, cpu, tid}, then (newer perf) nr × {machine_pid, vcpu}
            guard r.count >= 16 else { stats.drop("id_index"); return }
            let nr = r.u64(8)
            guard nr <= UInt64((r.count - 16) / 32) else { stats.drop("id_index"); return }
            let n = Int(nr)
            guard r.count >= 16 + n * 48 else { return }  // no machine entries
            for k in 0..<n {
                let pid = r.u64(16 + n * 32 + k * 16), vcpu = r.u64(16 + n * 32 + k * 16 + 8)
                if pid != 0 { idMachine[r.u64(16 + k * 32)] = (UInt32(truncatingIfNeeded: pid), UInt32(truncatingIfNeeded: vcpu)) }
            }
        case 2:  // LOST
            guard r.count >= 24 else { stats.drop("lost"); return }
            stats.addLost(r.u64(16))
        case 13:  // LOST_SAMPLES
            guard r.count >= 16 else { stats.drop("lost_samples"); return }
            stats.addLost(r.u64(8))
        case Self.compressed, Self.compressed2:
            guard offset >= 0 else {
                // perf never nests them; decompressing one into the buffer being read would append to (and
                // may move) the bytes `r` points into.
                stats.drop("compressed (nested)")
                if stats.droppedRecords["compressed (nested)", default: 0] == 1 {
                    stats.warnings.append("\(path): a PERF_RECORD_COMPRESSED record inside decompressed data (perf never writes one); dropped with its contents")
                }
                return
            }
            let dataStart = type == Self.compressed2 ? 16 : 8
            var dataLen = r.count - dataStart
            if type == Self.compressed2 {
                guard r.count >= 16 else { stats.drop("compressed"); return }
                dataLen = min(dataLen, Int(clamping: r.u64(8)))
            }
            inflate(UnsafeRawBufferPointer(rebasing: r.p[dataStart..<(dataStart + dataLen)]), offset: offset)
        case Self.finishedRound:
            // perf's rule: everything up to the newest time seen before the previous round is complete.
            if merging {
                if piping { chunkControls.append((chunkSamples.count, .endRound)) } else { stage?.endRound() }
                return
            }
            flush(upTo: flushLimit)
            flushLimit = maxTimeSeen
        case Self.headerAttr, Self.headerFeature, Self.headerBuildID, Self.headerTracingData, Self.auxtrace:
            break  // handled when the header was read, or carries nothing xprof uses
        default:
            if !Self.ignored.contains(type) {
                stats.unknown("perf record type \(type)")
            }
        }
    }

    private func trailerTime(_ r: RawRecord) -> UInt64 {
        PerfSampleFields.trailer(r, attr: attrs[sidebandAttr(r)])?.time ?? 0
    }

    /// The attr whose layout the `sample_id_all` trailer of the non-sample record `r` has: the one its id
    /// names, the id found where the first attr's layout puts it counted from the record's end (perf's
    /// `evlist__event2evsel` with `is_pos`, which perf requires to be the same for every attr). The first
    /// attr when there is one, no id, or an id no attr lists.
    private func sidebandAttr(_ r: RawRecord) -> Int {
        guard attrs.count > 1 else { return 0 }
        let t = attrs[0].sampleType
        var fromEnd = 1  // u64 words from the end: IDENTIFIER is the last
        if t & PerfAttr.identifier == 0 {
            guard t & PerfAttr.id != 0 else { return 0 }
            if t & PerfAttr.cpu != 0 { fromEnd += 1 }
            if t & PerfAttr.streamID != 0 { fromEnd += 1 }
        }
        guard r.count >= 8 + 8 * fromEnd else { return 0 }
        return idToAttr[r.u64(r.count - 8 * fromEnd)] ?? 0
    }

    /// Decompresses one PERF_RECORD_COMPRESSED payload through the file's zstd stream and queues its records.
    private func inflate(_ src: UnsafeRawBufferPointer, offset: Int) {
        if zstd == nil { zstd = xprof_zstd_stream_new() }
        guard let zstd else {
            stats.drop("compressed")
            stats.warnings.append("\(path): out of memory for a zstd stream; compressed records at and after byte \(offset) are lost")
            return
        }
        // The header says how much one record inflates to at most (a damaged one may say anything): chunks of that
        // size within 256 KiB ... 16 MiB, the stream is drained chunk by chunk anyway.
        var chunk = [UInt8](repeating: 0, count: min(max(compressedMax, 1 << 18), 1 << 24))
        var used = 0
        while true {
            var consumed = 0
            var err: UnsafePointer<CChar>? = nil
            let n = chunk.withUnsafeMutableBytes { dst in
                xprof_zstd_stream_feed(zstd, src.baseAddress! + used, src.count - used, dst.baseAddress, dst.count, &consumed, &err)
            }
            if n < 0 {
                stats.drop("compressed")
                stats.warnings.append("\(path): compressed record at byte \(offset) does not decompress (zstd: \(err.map { String(cString: $0) } ?? "error")); its events are lost")
                return
            }
            used += consumed
            inflated.append(contentsOf: chunk[0..<Int(n)])
            // Done when all input is used and the output did not fill up (no more pending output).
            if used >= src.count && Int(n) < chunk.count { return }
        }
    }
}
