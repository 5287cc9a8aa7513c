import SampleIO
import SymbolMap

/// Builds a ``Report`` from a sample source in one streaming pass: attribute, then aggregate.
///
/// Memory grows with the number of distinct rows and symbols, not with the number of samples.
public enum ReportBuilder {
    struct RowKey: Hashable {
        /// The key as two words for ``FastMap``.
        var words: (UInt64, UInt64, UInt64) {
            (UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)),
             UInt64(UInt32(bitPattern: c)) << 32 | UInt64(UInt32(bitPattern: d)),
             UInt64(UInt32(bitPattern: e)) << 32 | UInt64(UInt32(bitPattern: f)))
        }
        var a: Int32 = 0, b: Int32 = 0, c: Int32 = 0, d: Int32 = 0, e: Int32 = 0, f: Int32 = 0
        subscript(i: Int) -> Int32 {
            get {
                switch i {
                case 0: a
                case 1: b
                case 2: c
                case 3: d
                case 4: e
                default: f
                }
            }
            set {
                switch i {
                case 0: a = newValue
                case 1: b = newValue
                case 2: c = newValue
                case 3: d = newValue
                case 4: e = newValue
                default: f = newValue
                }
            }
        }
    }

    struct DomainTally {
        var domain: DomainID
        var samples: UInt64 = 0
        var period: UInt64 = 0
        var resolved: UInt64 = 0
        var modes: [UInt64] = [0, 0, 0, 0]
    }

    struct RowValue {
        var samples: UInt64 = 0
        var period: UInt64 = 0
        /// Period of samples whose callchain passes through this row (itself included).
        var children: UInt64 = 0
        mutating func add(_ weight: UInt64, count: UInt64) {
            samples += count
            period &+= weight
        }
    }

    /// What one report accumulates: its rows' values (indexed like the shared row keys; shorter when the
    /// last rows got nothing here), its total and its domains.
    struct Tally {
        var rows: [RowValue] = []
        var total = RowValue()
        /// Samples the sample filter left out (counted in the 100 % of `--percentage absolute`).
        var excluded = RowValue()
        var domains: [DomainTally] = []

        /// Makes `rows` reach row `r` (rows are made as samples need them; a tally's array trails behind).
        @inline(__always)
        mutating func reach(_ r: Int, rowCount: Int) {
            if r >= rows.count { rows += Array(repeating: RowValue(), count: rowCount - rows.count) }
        }
    }

    /// A row cache entry's payload: the row (or `~row`, left out by the filter) and whether its address resolved.
    @inline(__always)
    static func cacheWord(_ row: Int, _ resolved: Bool) -> UInt64 {
        UInt64(UInt32(bitPattern: Int32(truncatingIfNeeded: row))) | (resolved ? 1 << 32 : 0)
    }

    /// Reads all of `source` and aggregates it by `options.sortKeys`: every event together (or only
    /// `options.selection.event`).
    public static func build(source input: any SampleSource, path: String, options: ReportOptions) throws(SampleIOError) -> Report {
        try build(source: input, path: path, options: options, perEvent: false)[0]
    }

    /// Reads all of `source` once and makes one report per event that has samples (in the recording's event
    /// order), as `perf report` shows a section per event; one report (with no samples) when none has.
    /// `options.selection.event`, if set, keeps only that event.
    public static func buildPerEvent(source input: any SampleSource, path: String, options: ReportOptions) throws(SampleIOError) -> [Report] {
        try build(source: input, path: path, options: options, perEvent: true)
    }

    static func build(source input: any SampleSource, path: String, options: ReportOptions, perEvent: Bool) throws(SampleIOError) -> [Report] {
        let chainsWanted = options.children || options.callGraph != nil || options.countCallchains
        input.setCallchainsWanted(chainsWanted)
        // A report only counts: identical samples may come merged (see Sample.count).
        input.setMergingAllowed(options.selection.allowsMerging)
        // Decoding runs a few batches ahead on another core while this thread attributes and aggregates.
        let decoder = input  // (the read-ahead wrapper hands it to another thread)
        let source = ReadAheadSource(input, depth: 2)
        Timings.mark("decoding started")
        let meta = source.metadata
        let attributor = Attributor(metadata: meta, options: options.symbols)
        // Decoding has begun on the other thread: read the images with samples in the meantime.
        attributor.sources.preloadSymbols()
        // perf's sample filters, decided with the row (and cached with it): a row index `r` in the row cache
        // is a kept sample's, `~r` one the filter leaves out.
        let filter = options.selection.filter.isEmpty ? nil : CompiledSampleFilter(options.selection.filter, strings: &attributor.strings)
        // Rows: keys and values in arrays, found through a FastMap from the key's words to the row index.
        var rowKeys: [RowKey] = []
        var rowIndex = WordMap(capacity: 1024)
        // With --children: the serial number of the last sample that credited each row (one credit per stack).
        var rowStamps: [UInt64] = []
        var sampleSerial: UInt64 = 0
        func row(_ key: RowKey) -> Int {
            let w = key.words
            if let i = rowIndex.get(w.0, w.1, w.2) { return Int(i) }
            rowKeys.append(key)
            rowStamps.append(0)
            rowIndex.set(w.0, w.1, w.2, UInt64(rowKeys.count - 1))
            return rowKeys.count - 1
        }
        // One tally per event (perEvent), else one for all; samples and period of every event.
        var tallies: [Tally] = [Tally()]
        var eventTotals = Array(repeating: EventTotal(name: "", samples: 0, period: 0), count: meta.events.count)
        var input: UInt64 = 0, withChains: UInt64 = 0
        var firstTime = UInt64.max, lastTime: UInt64 = 0  // of every sample, before --time
        let keys = options.sortKeys
        let cpuKeyed = keys.contains(.cpu)
        // The vCPU and the label are not part of the row cache's key: with those keys each sample's row is found
        // from its attribution (itself cached by address).
        // Keys the row cache (by process and address) cannot tell apart: attributed per sample.
        let perSampleKeyed = keys.contains(.vcpu) || keys.contains(.reason) || keys.contains(.tid)
        // Rows by address and what the row depends on besides (``rowCacheKey``): a sample (or callchain frame)
        // seen before costs this one lookup. A process's mmap, fork or comm gives it a new incarnation, which
        // leaves the other processes' entries as they are; only kernel mappings empty it.
        // (Each entry's value in its slot, ``WordMap``: the row, and whether the address resolved, as
        // ``cacheWord(_:_:)`` packs them.)
        var rowCache = WordMap(capacity: 4096)
        // Emptied when this full: a 32 MB table flat, 128 MB with --children (a whole system's callers are a
        // million addresses, which a smaller table cleared again and again, resolving them anew each time).
        let rowCacheLimit = chainsWanted ? 1 << 21 : 1 << 19
        let threadKeyed = cpuKeyed || keys.contains(.comm) || keys.contains(.pid) || filter != nil
        // With a sample filter, --children's callchain frames get their rows from a cache of their own: the
        // filter is decided by a sample's own attribution, which a frame's entry would not carry.
        var frameCache = WordMap(capacity: filter == nil ? 16 : 4096)
        // With --call-graph: every row's tree of sample paths. When the sort starts with the symbol, the row
        // is its samples' own function and a callee tree starts at the callers: perf leaves the entry out
        // then, and only then (ui/stdio's graph printer checks that the sort order begins with "sym"; with
        // `--sort dso,sym` its tree starts with the row's own function). With --children
        // too, as perf's cumulative entries: a row's tree also holds, once per sample, the path of every sample
        // whose callchain passes through it, from the frame that put it there (the innermost in callee order,
        // the outermost in caller order) out to the root or down to the leaf; its own samples' paths are
        // those above (in caller order, from the root). Per sample that is O(frames × distinct rows on the
        // stack), as in perf; memory still grows with the distinct paths (per row), not the samples.
        let callGraph = options.callGraph
        var trie = CallGraphTrie(capacity: callGraph == nil ? 0 : 1 << 15)
        let skipLeaf = keys.first == .symbol
        // The row cache's key for address `ip` of mode `mode` in sample `s` (its process's incarnation `inc`):
        // the address, the domain (the CPU instead when it is a sort key: the incarnation then names the domain)
        // and mode; the process's incarnation and the thread when a key or the filter depends on the thread.
        // Otherwise kernel code is shared by all processes, and user code is keyed by its mapped file and file
        // offset, shared by all processes that map the file (short-lived processes, as a build's compilers, see
        // an address a few times each, so keys by process would miss nearly always).
        @inline(__always) func rowCacheKey(_ s: Sample, _ ip: UInt64, _ mode: SampleMode, _ inc: UInt32) -> (UInt64, UInt64, UInt64) {
            let b = (cpuKeyed ? UInt64(s.pcpu) : UInt64(s.domain.rawValue)) << 32 | UInt64(mode.rawValue)
            if threadKeyed { return (ip, b, UInt64(inc) << 32 | UInt64(UInt32(bitPattern: s.tid))) }
            guard mode == .user else { return (ip, b, 0) }
            if let (image, offset) = attributor.fileLocation(domain: s.domain, pid: s.pid, ip: ip) {
                return (offset, b | 1 << 8, UInt64(UInt32(bitPattern: image)))
            }
            return (ip, b, UInt64(inc) << 32)
        }
        // The call graph's address shortcuts: user code by the process's incarnation, the rest by domain and mode.
        @inline(__always) func place(_ s: Sample, _ mode: SampleMode, _ inc: UInt32) -> UInt64 {
            mode == .user ? 1 << 63 | UInt64(inc) : UInt64(s.domain.rawValue) << 8 | UInt64(mode.rawValue)
        }
        func apply(_ event: SidebandEvent) {
            attributor.apply(event)
            if case .mapping(let m) = event, m.executable, m.pid < 0 {
                rowCache.removeAll()
                frameCache.removeAll()
                trie.forgetAddresses()
            }
        }
        /// Adds to row `row`'s tree the path of sample `s` along its frames `first`, `first + step` … `last`
        /// (position -1 standing for the sample's own address; none when `last` is short of `first`), and
        /// credits the node it ends at.
        func addPath(_ s: Sample, _ frames: [CallFrame], slot: Int, row: Int, first: Int, last: Int, step: Int) {
            var node = trie.root(slot: slot, row: row)
            let inc = attributor.incarnation(domain: s.domain, pid: s.pid)
            frames.withUnsafeBufferPointer { frames in
                var j = first
                while step > 0 ? j <= last : j >= last {
                    defer { j += step }
                    let f = j < 0 ? CallFrame(ip: s.ip, mode: s.mode) : frames[j]
                    let where_ = place(s, f.mode, inc)
                    if let hit = trie.child(node, address: f.ip, place: where_) {
                        node = hit
                        continue
                    }
                    let (img, sym, _) = attributor.attributeAddress(domain: s.domain, mode: f.mode, pid: s.pid, ip: f.ip)
                    let next = trie.child(node, frame: CallGraphTrie.code(image: img, symbol: sym))
                    trie.remember(next, under: node, address: f.ip, place: where_)
                    node = next
                }
            }
            trie.credit(node, count: s.count, weight: s.weight)
        }
        var batches = 0, misses = 0
        // The row cache keys of the samples ahead, up to the next side-band event (which may change them):
        // computed a run at a time, each key's slot asked for as it is made, so that the lookups of the run find
        // their slots in the CPU's cache (one at a time, each waited for memory: half the attribution's time;
        // docs/ARCHITECTURE.md, "Whole-system reports").
        var keysAhead = [(UInt64, UInt64, UInt64)](repeating: (0, 0, 0), count: 256)
        // The same for a sample's callchain frames (--children).
        var frameKeys = [(UInt64, UInt64, UInt64)](repeating: (0, 0, 0), count: 128)
        while let batch = try source.nextBatch() {
            var next = 0
            if batches == 0 { Timings.mark("first samples to attribute") }
            batches += 1
            let sideband = batch.sideband
            var aheadFrom = 0, aheadTo = 0
            for (i, s) in batch.samples.enumerated() {
                while next < sideband.count, sideband[next].beforeSample <= i {
                    apply(sideband[next].event)
                    next += 1
                }
                if i >= aheadTo && !perSampleKeyed {
                    aheadFrom = i
                    aheadTo = min(batch.samples.count, i + keysAhead.count, next < sideband.count ? sideband[next].beforeSample : Int.max)
                    batch.samples.withUnsafeBufferPointer { run in
                        for j in aheadFrom..<aheadTo {
                            let t = run[j]
                            let k = rowCacheKey(t, t.ip, t.mode, attributor.incarnation(domain: t.domain, pid: t.pid))
                            keysAhead[j - aheadFrom] = k
                            rowCache.prefetch(k.0, k.1, k.2)
                        }
                    }
                }
                if s.time != 0 { firstTime = min(firstTime, s.time); lastTime = max(lastTime, s.time) }
                if let w = options.selection.timeWindow, !w.contains(s.time) { continue }
                input += s.count
                if s.chainCount > 0 { withChains += s.count }
                if let d = options.selection.domain, s.domain != d { continue }
                if let m = options.selection.mode, s.mode != m { continue }
                let ev = Int(s.event)
                if ev >= eventTotals.count {
                    eventTotals += Array(repeating: EventTotal(name: "", samples: 0, period: 0), count: ev + 1 - eventTotals.count)
                }
                eventTotals[ev].samples += s.count
                eventTotals[ev].period &+= s.weight
                if let e = options.selection.event, s.event != e { continue }
                let slot = perEvent ? ev : 0
                while slot >= tallies.count { tallies.append(Tally()) }
                // The caches' third key: the thread (comm, filters), and the CPU when it is a sort key.
                let inc = attributor.incarnation(domain: s.domain, pid: s.pid)
                let (ka, kb, kc) = perSampleKeyed ? rowCacheKey(s, s.ip, s.mode, inc) : keysAhead[i - aheadFrom]
                let own: Int, resolved: Bool
                if !perSampleKeyed, let hit = rowCache.get(ka, kb, kc) {
                    (own, resolved) = (Int(Int32(truncatingIfNeeded: hit)), hit & 1 << 32 != 0)
                } else {
                    misses += 1
                    let a = attributor.attribute(s)
                    var key = RowKey()
                    for (k, sk) in keys.enumerated() {
                        switch sk {
                        case .domain: key[k] = Int32(bitPattern: s.domain.rawValue)
                        case .mode: key[k] = Int32(s.mode.rawValue)
                        case .comm: key[k] = a.comm
                        case .pid: key[k] = s.pid
                        case .tid: key[k] = s.tid
                        case .cpu: key[k] = Int32(bitPattern: s.pcpu)
                        case .vcpu: key[k] = Int32(bitPattern: s.vcpu)
                        case .reason: key[k] = attributor.strings.intern(Int(s.label) < meta.labels.count ? meta.labels[Int(s.label)] : "")
                        case .image: key[k] = a.image
                        case .symbol: key[k] = a.symbol
                        case .line: key[k] = attributor.sourceLine(domain: s.domain, mode: s.mode, pid: s.pid, ip: s.ip)
                        }
                    }
                    let r = row(key)
                    (own, resolved) = filter.map { $0.keeps(pid: s.pid, tid: s.tid, a) } == false ? (~r, a.resolved) : (r, a.resolved)
                    if rowCache.count >= rowCacheLimit { rowCache.removeAll() }
                    rowCache.set(ka, kb, kc, cacheWord(own, resolved))
                }
                if own < 0 {
                    tallies[slot].excluded.add(s.weight, count: s.count)
                    continue
                }
                tallies[slot].reach(own, rowCount: rowKeys.count)
                tallies[slot].rows[own].add(s.weight, count: s.count)
                if let callGraph {
                    // The sample's path: its callchain (leaf first), or its own address alone when it has none.
                    let cs = Int(s.chainStart), cc = Int(s.chainCount)
                    let chain = cc > 0 && cs + cc <= batch.frames.count ? cs..<(cs + cc) : 0..<0
                    // Positions along the path, -1 standing for the sample's own address; no allocation.
                    let (first, last, step): (Int, Int, Int)
                    switch (callGraph.order, chain.isEmpty) {
                    case (.callee, false): (first, last, step) = (chain.lowerBound + (skipLeaf ? 1 : 0), chain.upperBound - 1, 1)
                    case (.caller, false): (first, last, step) = (chain.upperBound - 1, chain.lowerBound, -1)
                    case (.callee, true): (first, last, step) = (-1, skipLeaf ? -2 : -1, 1)
                    case (.caller, true): (first, last, step) = (-1, -1, 1)
                    }
                    addPath(s, batch.frames, slot: slot, row: own, first: first, last: last, step: step)
                }
                if options.children {
                    // Every distinct row on the sample's stack (its own included) gets the period once: a row
                    // stamped with this sample's serial number was already credited.
                    sampleSerial &+= 1
                    rowStamps[own] = sampleSerial
                    tallies[slot].rows[own].children &+= s.weight
                    let cs = Int(s.chainStart), cc = Int(s.chainCount)
                    let frames = cc > 1 && cs + cc <= batch.frames.count ? (cs + 1)..<(cs + cc) : 0..<0
                    // With a caller-order graph the frames go root first, so that a recursive row's path starts
                    // at its outermost frame; otherwise leaf first, at its innermost (perf's cumulative entries).
                    let rootFirst = callGraph?.order == .caller
                    // The frames' cache keys first, each slot asked for as its key is made: the lookups below
                    // then wait for memory about once per sample rather than once per frame.
                    if !perSampleKeyed {
                        if frameKeys.count < frames.count { frameKeys += Array(repeating: (0, 0, 0), count: frames.count - frameKeys.count) }
                        batch.frames.withUnsafeBufferPointer { all in
                            for k in 0..<frames.count {
                                let f = all[rootFirst ? frames.upperBound - 1 - k : frames.lowerBound + k]
                                let key = rowCacheKey(s, f.ip, f.mode, inc)
                                frameKeys[k] = key
                                if filter == nil { rowCache.prefetch(key.0, key.1, key.2) } else { frameCache.prefetch(key.0, key.1, key.2) }
                            }
                        }
                    }
                    for k in 0..<frames.count {
                        let j = rootFirst ? frames.upperBound - 1 - k : frames.lowerBound + k
                        let f = batch.frames[j]
                        let r: Int
                        let (fa, fb, fc) = perSampleKeyed ? rowCacheKey(s, f.ip, f.mode, inc) : frameKeys[k]
                        if !perSampleKeyed, let hit = filter == nil ? rowCache.get(fa, fb, fc) : frameCache.get(fa, fb, fc) {
                            r = Int(Int32(truncatingIfNeeded: hit))
                        } else {
                            // The sample's own key with the frame's mode, image, symbol and line.
                            let (img, sym, res) = attributor.attributeAddress(domain: s.domain, mode: f.mode, pid: s.pid, ip: f.ip)
                            var fk = rowKeys[own]
                            for (k, sk) in keys.enumerated() {
                                switch sk {
                                case .mode: fk[k] = Int32(f.mode.rawValue)
                                case .image: fk[k] = img
                                case .symbol: fk[k] = sym
                                case .line: fk[k] = attributor.sourceLine(domain: s.domain, mode: f.mode, pid: s.pid, ip: f.ip)
                                default: break
                                }
                            }
                            r = row(fk)
                            if filter == nil {
                                if rowCache.count >= rowCacheLimit { rowCache.removeAll() }
                                rowCache.set(fa, fb, fc, cacheWord(r, res))
                            } else {
                                if frameCache.count >= 1 << 20 { frameCache.removeAll() }
                                frameCache.set(fa, fb, fc, cacheWord(r, res))
                            }
                        }
                        if rowStamps[r] != sampleSerial {
                            rowStamps[r] = sampleSerial
                            tallies[slot].reach(r, rowCount: rowKeys.count)
                            tallies[slot].rows[r].children &+= s.weight
                            // The row's tree gets the path from this frame on: out to the root (callee order,
                            // the row's own frame left out with a symbol key as for its own samples), or down
                            // to the leaf (caller order). Its own samples' paths were added above.
                            switch callGraph?.order {
                            case .callee?: addPath(s, batch.frames, slot: slot, row: r, first: j + (skipLeaf ? 1 : 0), last: cs + cc - 1, step: 1)
                            case .caller?: addPath(s, batch.frames, slot: slot, row: r, first: j, last: cs, step: -1)
                            case nil: break
                            }
                        }
                    }
                }
                tallies[slot].total.samples += s.count
                tallies[slot].total.period &+= s.weight
                var di = 0
                while di < tallies[slot].domains.count, tallies[slot].domains[di].domain != s.domain { di += 1 }
                if di == tallies[slot].domains.count {
                    tallies[slot].domains.append(DomainTally(domain: s.domain))
                }
                tallies[slot].domains[di].samples += s.count
                tallies[slot].domains[di].period &+= s.weight
                tallies[slot].domains[di].modes[Int(s.mode.rawValue) & 3] += s.count
                if resolved { tallies[slot].domains[di].resolved += s.count }
            }
            while next < sideband.count {
                apply(sideband[next].event)
                next += 1
            }
        }
        Timings.mark("all samples attributed (\(batches) batches, \(rowKeys.count) rows, \(misses) samples not in the row cache)")
        let stats = source.stats
        var meta2 = source.metadata  // duration may be final only now
        for (d, name) in options.domainNames {
            if let i = meta2.domains.firstIndex(where: { $0.id == d }) { meta2.domains[i].name = name }
            else { meta2.domains.append(DomainInfo(id: d, name: name, role: attributor.role(of: d))) }
        }
        for i in eventTotals.indices {
            eventTotals[i].name = i < meta2.events.count ? meta2.events[i].name : "event \(i)"
        }
        // Source lines learnt for the DWARF index go to the symbol cache now (the attributor may be kept
        // until exit, which skips its release).
        attributor.sources.saveDwarfIndexes()
        if options.keepInputsUntilExit { ProcessLifetime.keep([source, decoder, attributor]) }
        var reports: [Report] = []
        if callGraph != nil { trie.accumulate() }
        let graphs = callGraph.map { _ in (trie: trie, children: trie.children()) }
        for (slot, tally) in tallies.enumerated() where !perEvent || tally.total.samples + tally.excluded.samples > 0 {
            var r = finish(tally, slot: slot, keys: keys, rowKeys: rowKeys, meta: meta2, stats: stats, attributor: attributor,
                           options: options, path: path, input: input, graphs: graphs)
            r.eventTotals = eventTotals
            if chainsWanted { r.samplesWithCallchains = withChains }
            if firstTime <= lastTime { r.sampleTimes = firstTime...lastTime }
            if perEvent {
                r.event = eventTotals[slot].name
            } else if let e = options.selection.event, Int(e) < eventTotals.count {
                r.event = eventTotals[Int(e)].name
            }
            reports.append(r)
        }
        if reports.isEmpty {
            var r = finish(Tally(), slot: 0, keys: keys, rowKeys: rowKeys, meta: meta2, stats: stats, attributor: attributor,
                           options: options, path: path, input: input, graphs: nil)
            r.eventTotals = eventTotals
            if chainsWanted { r.samplesWithCallchains = withChains }
            if firstTime <= lastTime { r.sampleTimes = firstTime...lastTime }
            if let e = options.selection.event, Int(e) < eventTotals.count { r.event = eventTotals[Int(e)].name }
            reports.append(r)
        }
        return reports
    }
}
