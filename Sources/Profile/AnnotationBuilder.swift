import SampleIO
import SymbolMap

/// Builds an ``Annotation``: one streaming pass counts the samples per function and address, then the
/// selected functions' addresses are mapped to source lines (DWARF, inline chains) and, with `--asm`,
/// to objdump's instructions.
///
/// Samples in inlined code go to the line of the function's own source that made the inlined call (the
/// outermost frame of the address's inline chain), and are also kept by the innermost line they ran
/// (``InlinedSite``), which is what `addr2line` and `perf script -F srcline` name.
///
/// Memory grows with the number of distinct addresses, not with the number of samples.
public enum AnnotationBuilder {
    /// A function with samples: its image, symbol and the file its code comes from.
    struct FunctionKey: Hashable {
        var image: Int32
        var symbol: Int32
        var elf: Int32
    }

    struct FunctionState {
        var key: FunctionKey
        var resolved: Bool
        var tally = SampleTally()
        var sites: [Int] = []
        var dwarf: DwarfLines?
        var elfPath: String?
        var symbol: SymbolHit?
        /// The mode of its samples (for notes on what to give when DWARF is missing).
        var mode: SampleMode
        var domain: DomainID
    }

    struct Site {
        var function: Int
        var address: UInt64
        var tally = SampleTally()
    }

    /// Reads all of `source` and annotates the functions `options` selects.
    public static func build(source input: any SampleSource, path: String, options: AnnotateOptions) throws(SampleIOError) -> Annotation {
        input.setCallchainsWanted(false)
        // Only counts: identical samples may come merged (Sample.count, Sample.weight).
        input.setMergingAllowed(options.selection.allowsMerging)
        let source = ReadAheadSource(input, depth: 2)
        let meta = source.metadata
        let attributor = Attributor(metadata: meta, options: options.symbolOptions)
        attributor.sources.preloadSymbols()
        var notes: [String] = []
        var selection = options.selection
        if selection.event == nil, meta.events.count > 1 {
            selection.event = 0
            notes.append("the recording has \(meta.events.count) events; annotating the first, \(meta.events[0].name) (--event NAME picks another)")
        }

        var functions: [FunctionState] = []
        var functionIndex: [FunctionKey: Int] = [:]
        var sites: [Site] = []
        var siteIndex: [SiteKeyStruct: Int] = [:]
        var elfIDs: [String: Int32] = [:]
        // Site of (ip, domain/mode/pid): valid while no side-band event changes the mappings.
        var cache = FastMap<Int32>(capacity: 4096)
        var total = SampleTally()

        func site(for s: Sample) -> Int {
            let (image, symbol, resolved) = attributor.attributeAddress(domain: s.domain, mode: s.mode, pid: s.pid, ip: s.ip)
            let code = resolved ? attributor.codeAddress(domain: s.domain, mode: s.mode, pid: s.pid, ip: s.ip) : nil
            var elf: Int32 = -1
            if let p = code?.elfPath {
                if let id = elfIDs[p] { elf = id } else { elf = Int32(elfIDs.count); elfIDs[p] = elf }
            }
            let key = FunctionKey(image: image, symbol: symbol, elf: elf)
            let f: Int
            if let i = functionIndex[key] {
                f = i
            } else {
                f = functions.count
                var st = FunctionState(key: key, resolved: resolved, mode: s.mode, domain: s.domain)
                st.elfPath = code?.elfPath
                st.symbol = code?.symbol
                if resolved { st.dwarf = attributor.dwarfAddress(domain: s.domain, mode: s.mode, pid: s.pid, ip: s.ip)?.0 }
                functions.append(st)
                functionIndex[key] = f
            }
            let address = code?.address ?? s.ip
            let sk = SiteKeyStruct(function: f, address: address)
            if let i = siteIndex[sk] { return i }
            sites.append(Site(function: f, address: address))
            functions[f].sites.append(sites.count - 1)
            siteIndex[sk] = sites.count - 1
            return sites.count - 1
        }

        try attributor.forEachSample(of: source, selection: selection, afterSideband: { cache.removeAll() }) { s, _, _ in
            let place = UInt64(s.domain.rawValue) << 40 | UInt64(s.mode.rawValue) << 32 | UInt64(UInt32(bitPattern: s.pid))
            let k: Int
            if let hit = cache.get(s.ip, place) {
                k = Int(hit)
            } else {
                k = site(for: s)
                if cache.count >= 1 << 20 { cache.removeAll() }
                cache.set(s.ip, place, 0, Int32(k))
            }
            let t = SampleTally(samples: s.count, period: s.weight)
            sites[k].tally.add(t)
            functions[sites[k].function].tally.add(t)
            total.add(t)
        }

        var out = Annotation(source: path, metadata: source.metadata)
        out.total = total
        out.context = options.context
        if let e = selection.event, Int(e) < meta.events.count { out.event = meta.events[Int(e)].name }
        if selection.event == nil, meta.events.count == 1 { out.event = meta.events[0].name }
        out.filterDescription = selection.description

        // Hottest first: by self samples, then period, then name.
        let order = functions.indices.sorted { a, b in
            let x = functions[a], y = functions[b]
            if x.tally.samples != y.tally.samples { return x.tally.samples > y.tally.samples }
            if x.tally.period != y.tally.period { return x.tally.period > y.tally.period }
            return attributor.strings[x.key.symbol] < attributor.strings[y.key.symbol]
        }
        let resolvedOrder = order.filter { functions[$0].resolved }
        out.hottest = resolvedOrder.map { (attributor.strings[functions[$0].key.symbol], attributor.strings[functions[$0].key.image]) }

        var selected: [Int] = []
        if options.symbols.isEmpty {
            selected = Array(resolvedOrder.prefix(max(0, options.top)))
        } else {
            for name in options.symbols {
                let matches = resolvedOrder.filter { attributor.strings[functions[$0].key.symbol] == name }
                if matches.isEmpty {
                    let names = uniqued(out.hottest.map(\.symbol))
                    out.unknownSymbols.append(UnknownSymbol(name: name, closeMatches: closeMatches(to: name, in: names)))
                }
                for m in matches where !selected.contains(m) { selected.append(m) }
            }
        }

        var reader = SourceReader(rules: options.sourceRules, symfs: options.symbolOptions.symfs)
        for f in selected {
            let st = functions[f]
            var af = annotate(st, sites: sites, strings: attributor.strings, context: options.context, reader: &reader)
            if options.disassemble {
                Disassembler.annotate(&af, objdump: options.objdump)
                if let dw = st.dwarf {
                    for i in af.instructions.indices {
                        if let loc = ownLocation(dw, af.instructions[i].address).own {
                            af.instructions[i].file = loc.file
                            af.instructions[i].line = loc.line
                        }
                    }
                }
            }
            out.functions.append(af)
        }
        // Images without DWARF get a note on each of their functions instead.
        out.warnings = notes + attributor.sources.warnings.filter { !$0.contains("no DWARF line information") }
        return out
    }

    struct SiteKeyStruct: Hashable {
        var function: Int
        var address: UInt64
    }

    private static func uniqued(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }

    /// The source-line view of one function.
    static func annotate(_ st: FunctionState, sites: [Site], strings: StringTable, context: Int,
                         reader: inout SourceReader) -> AnnotatedFunction {
        let image = strings[st.key.image]
        var af = AnnotatedFunction(symbol: strings[st.key.symbol], image: image, imagePath: st.elfPath, tally: st.tally)
        if let sym = st.symbol {
            af.start = sym.start
            af.size = sym.size
        }
        let mine = st.sites.map { sites[$0] }.sorted { $0.address < $1.address }
        guard let dw = st.dwarf else {
            af.addresses = mine.map { AddressCount(address: $0.address, tally: $0.tally) }
            af.unknownLines = st.tally
            af.note = noDwarfNote(st, image: image)
            return af
        }
        // Per file and line of the function's own source: samples, and the inlined sites under it.
        struct LineAcc {
            var tally = SampleTally()
            var inlined: [String: (InlinedSite)] = [:]
        }
        var byFile: [String: [Int: LineAcc]] = [:]
        var callees: [String: SampleTally] = [:]
        for s in mine {
            let (own, inner, via) = ownLocation(dw, s.address)
            guard let loc = own else {
                af.unknownLines.add(s.tally)
                af.addresses.append(AddressCount(address: s.address, tally: s.tally))
                continue
            }
            af.addresses.append(AddressCount(address: s.address, tally: s.tally, file: loc.file, line: loc.line))
            var acc = byFile[loc.file, default: [:]][loc.line, default: LineAcc()]
            acc.tally.add(s.tally)
            if let inner, let il = inner.location {
                let key = inner.function + "\u{0}" + il.file + "\u{0}" + String(il.line) + "\u{0}" + via.joined(separator: "\u{0}")
                var site = acc.inlined[key] ?? InlinedSite(function: inner.function, via: via, file: il.file, line: il.line, tally: SampleTally())
                site.tally.add(s.tally)
                acc.inlined[key] = site
                callees[inner.function, default: SampleTally()].add(s.tally)
            } else if let inner {
                let key = inner.function + "\u{0}??"
                var site = acc.inlined[key] ?? InlinedSite(function: inner.function, via: via, file: "??", line: 0, tally: SampleTally())
                site.tally.add(s.tally)
                acc.inlined[key] = site
                callees[inner.function, default: SampleTally()].add(s.tally)
            }
            byFile[loc.file, default: [:]][loc.line] = acc
        }
        af.inlinedCallees = callees.sorted { a, b in
            a.value.samples != b.value.samples ? a.value.samples > b.value.samples : a.key < b.key
        }.map { (name: $0.key, tally: $0.value) }

        var files: [AnnotatedFile] = []
        for (path, lines) in byFile {
            var file = AnnotatedFile(path: path)
            for (_, acc) in lines { file.tally.add(acc.tally) }
            let text = reader.lines(of: path)
            if let text {
                file.foundAt = text.path
                file.lineCount = text.lines.count
            } else {
                file.note = reader.missingNote(for: path)
            }
            // Lines to show: those with samples and, in a file that was found, up to `context` around them.
            var shown = Set(lines.keys)
            if let text {
                for l in lines.keys {
                    let lo = max(1, l - context), hi = min(text.lines.count, l + context)
                    if lo <= hi { for k in lo...hi { shown.insert(k) } }
                }
            }
            var previous: Int?
            for l in shown.sorted() {
                let acc = lines[l]
                var row = AnnotatedLine(line: l, tally: acc?.tally ?? SampleTally())
                if let text, l >= 1, l <= text.lines.count { row.text = text.lines[l - 1] }
                row.inlined = (acc?.inlined.values.map { $0 } ?? []).sorted { a, b in
                    if a.tally.samples != b.tally.samples { return a.tally.samples > b.tally.samples }
                    return (a.file, a.line, a.function) < (b.file, b.line, b.function)
                }
                for k in row.inlined.indices {
                    if let t = reader.lines(of: row.inlined[k].file), row.inlined[k].line >= 1, row.inlined[k].line <= t.lines.count {
                        row.inlined[k].text = t.lines[row.inlined[k].line - 1]
                    }
                }
                if let previous, l > previous + 1 { row.gapBefore = true }
                previous = l
                file.lines.append(row)
            }
            if let text, let last = lines.keys.max(), last > text.lines.count {
                file.note = "\(text.path) has \(text.lines.count) lines but samples fall on line \(last): the source file may not be the one the binary was built from"
            }
            files.append(file)
        }
        files.sort { a, b in a.tally.samples != b.tally.samples ? a.tally.samples > b.tally.samples : a.path < b.path }
        af.files = files
        return af
    }

    /// The line of the function's own source an address belongs to (for inlined code: the call site, the
    /// outermost frame of its inline chain), the innermost inlined frame if any, and the inlined functions
    /// between the two (outermost first). `own` nil when DWARF has no line for it.
    static func ownLocation(_ dw: DwarfLines, _ address: UInt64) -> (own: SourceLocation?, inner: InlineFrame?, via: [String]) {
        let frames = dw.frames(for: address)
        var own: SourceLocation?
        var inner: InlineFrame?
        var via: [String] = []
        if frames.isEmpty {
            own = dw.location(for: address)
        } else {
            own = frames[frames.count - 1].location
            if frames.count > 1 {
                inner = frames[0]
                via = frames[1..<(frames.count - 1)].reversed().map(\.function)
            }
        }
        // An inlined scope without a call site: count it where it ran.
        if own == nil { own = inner?.location }
        if let o = own, o.line <= 0 { own = nil }
        // (DwarfLines names files by full path already: relative names come joined to the unit's comp_dir.)
        return (own, inner, via)
    }

    /// Why a function has no source lines, and what to give.
    static func noDwarfNote(_ st: FunctionState, image: String) -> String {
        switch st.mode {
        case .kernel where st.elfPath == nil:
            return "\(image): symbols from a kernel symbol map, no DWARF: counts per address only (give --vmlinux \(st.domain)=IMAGE, a vmlinux with debugging information, for source lines)"
        case .hypervisor where st.elfPath == nil:
            return "no hypervisor image: counts per address only (give --xen IMAGE)"
        default:
            let what = st.elfPath ?? image
            return "\(what) has no DWARF line information (nor a separate debug file): counts per address only (rebuild it with -g, or point --debug-dir at its debug file)"
        }
    }

    /// Names close to `name`: those containing it or contained in it (case-insensitive), and those within a
    /// small edit distance, nearest first; at most 5.
    static func closeMatches(to name: String, in names: [String]) -> [String] {
        let lower = Array(name.lowercased().utf8)
        var scored: [(Int, String)] = []
        for candidate in names {
            let c = Array(candidate.lowercased().utf8)
            let d = editDistance(lower, c)
            let contains = c.count >= 3 && lower.count >= 3
                && (candidate.lowercased().contains(name.lowercased()) || name.lowercased().contains(candidate.lowercased()))
            if d <= max(2, lower.count / 3) || contains { scored.append((contains ? min(d, 1) : d, candidate)) }
        }
        return scored.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.prefix(5).map(\.1)
    }

    /// Levenshtein distance of two byte strings.
    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count), current = Array(repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
