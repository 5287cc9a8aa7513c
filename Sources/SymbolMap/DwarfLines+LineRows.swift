internal import CElfUtils

/// Whole line tables of units, for lookups of lines alone (`xprof symbolize --lines`, reports by line): a
/// unit's table is read on its first lookup into plain memory with a bucket index, on two threads for a
/// batch (``ensureUnits(_:helper:)``), and served to several threads at once (``withView(_:)``).
extension DwarfLines {
    /// One line-table row: file id (-1 for the end of a sequence), line and column.
    struct LineRow {
        var file: Int32
        var line: Int32
        var column: Int32
    }

    /// One line-table row as kept for lookups: its address next to its file id (-1: end of a sequence) and
    /// line, so that the last probe of a search and the row share a cache line.
    struct LineEntry {
        var address: UInt64
        var file: Int32
        var line: Int32
    }

    /// A unit's rows sorted by address, in plain memory (owned by its ``UnitRows``), with a bucket index
    /// over the address range: a lookup is a short binary search inside one bucket.
    struct LineRows {
        var loaded = false
        var count = 0
        var entries: UnsafeMutablePointer<LineEntry>? = nil
        /// Columns per row (apart: only JSON and inline frames show them).
        var columns: UnsafeMutablePointer<Int32>? = nil
        var base: UInt64 = 0
        var shift: UInt64 = 0
        /// For bucket b: the first row at or above the bucket's start; one more entry (`count`) at the end.
        var buckets: UnsafeMutablePointer<Int32>? = nil
        var bucketCount = 0
        /// Added to the rows' unit-local file ids to give ids of the whole file.
        var fileBase: Int32 = 0

        /// The rows that may hold `address`'s (`lo..<hi`; `hi` 0 when none can).
        @inline(__always)
        func span(for address: UInt64) -> (lo: Int32, hi: Int32) {
            guard count > 0, address >= base, let buckets else { return (0, 0) }
            let b = Int(min(UInt64(bucketCount - 1), (address &- base) >> shift))
            return (buckets[b], buckets[b + 1])
        }

        /// The index of `address`'s row within `span` (the last one at or before it), -1 if none.
        @inline(__always)
        func index(for address: UInt64, in span: (lo: Int32, hi: Int32)) -> Int {
            guard let entries else { return -1 }
            var lo = Int(span.lo), hi = Int(span.hi)
            if hi == 0 { return -1 }
            while lo < hi {
                let mid = (lo + hi) >> 1
                if entries[mid].address <= address { lo = mid + 1 } else { hi = mid }
            }
            return lo - 1
        }

        /// The row for `address`: the last one at or before it, nil if none (or if it ends a sequence).
        @inline(__always)
        func row(for address: UInt64) -> LineRow? {
            let i = index(for: address, in: span(for: address))
            guard i >= 0, let entries, let columns else { return nil }
            let e = entries[i]
            return e.file < 0 ? nil : LineRow(file: e.file &+ fileBase, line: e.line, column: columns[i])
        }
    }

    /// One unit's rows (memory it owns) and its file names in the order of its local file ids.
    final class UnitRows {
        var index = 0
        var rows = LineRows()
        var localFiles: [String] = []

        deinit {
            rows.entries?.deallocate()
            rows.columns?.deallocate()
            rows.buckets?.deallocate()
        }
    }

    /// Lookups as plain pointers for several threads at once: valid until the next call that may load a
    /// unit or add a file name (``ensureUnits(_:helper:)``, ``rawLocation(for:)`` …).
    struct View {
        let rangeCount: Int
        let rangeLo: UnsafeMutablePointer<UInt64>
        let rangeHi: UnsafeMutablePointer<UInt64>
        let rangeUnit: UnsafeMutablePointer<Int32>
        let tables: UnsafeMutablePointer<LineRows>
        let fileBytes: UnsafeMutablePointer<UInt8>
        let fileStarts: UnsafePointer<Int>

        /// The unit whose range holds `address` (nil if none).
        @inline(__always)
        func unitIndex(containing address: UInt64) -> Int? {
            DwarfLines.unitIndex(containing: address, count: rangeCount, lo: rangeLo, hi: rangeHi, unit: rangeUnit)
        }

        /// File id, line and column of `address` when its unit is loaded.
        @inline(__always)
        func row(for address: UInt64) -> LineRow? {
            guard let u = unitIndex(containing: address) else { return nil }
            return tables[u].row(for: address)
        }

        /// The bytes of file `id`'s name.
        @inline(__always)
        func fileName(_ id: Int32) -> (UnsafeMutablePointer<UInt8>, Int) {
            let s = fileStarts[Int(id)]
            return (fileBytes + s, fileStarts[Int(id) + 1] - s)
        }
    }

    /// Calls `body` with a ``View``: the units the addresses need must have been loaded
    /// (``ensureUnits(_:helper:)``); rows of other units read as unknown.
    func withView<R>(_ body: (View) throws -> R) rethrows -> R {
        readRanges()
        return try fileStarts.withUnsafeBufferPointer { fs in
            try body(View(rangeCount: rangeCount, rangeLo: rangeLo, rangeHi: rangeHi, rangeUnit: rangeUnit, tables: tables,
                          fileBytes: fileBytes.base, fileStarts: fs.baseAddress!))
        }
    }

    /// Unit `index`'s rows, read on first need (no rows when the file cannot be read).
    func load(_ index: Int) -> LineRows {
        if let u = unitRows[index] { return u.rows }
        guard let h = open() else { return LineRows() }
        var die = h.unitDIEs[index]
        let u = Self.readUnit(&die, index: index, sections: h.lineSections)
        adopt(u)
        return u.rows
    }

    /// Makes a unit read by ``readUnit(_:index:)`` (on any thread) part of the tables: its file names get
    /// ids of the whole file. Not thread-safe.
    private func adopt(_ u: UnitRows) {
        u.rows.fileBase = Int32(files.count)
        for f in u.localFiles {
            files.append(f)
            var t = f
            t.withUTF8 { fileBytes.append($0) }
            fileStarts.append(fileBytes.count)
        }
        unitRows[u.index] = u
        tables[u.index] = u.rows
    }

    /// Loads the units that `addresses` fall in and that are not loaded yet: on this thread and, when there
    /// are two or more and `helper` is given, on the helper thread too (through a second libdw reader).
    /// Afterwards ``withView(_:)`` finds every one of the addresses' rows.
    func ensureUnits(_ batches: [[UInt64]], helper: HelperThread?) {
        readRanges()
        var needed: [Int] = []
        var seen = [Bool](repeating: false, count: unitRows.count)
        for addresses in batches {
            var last = -1
            for a in addresses {
                guard let u = unitIndex(containing: a), u != last else { continue }
                last = u
                if unitRows[u] == nil && !seen[u] { seen[u] = true; needed.append(u) }
            }
        }
        loadUnits(needed, helper: helper)
    }

    /// Loads units by index (see ``ensureUnits(_:helper:)``).
    func loadUnits(_ needed: [Int], helper: HelperThread?) {
        if needed.isEmpty { return }
        guard needed.count >= 2, let helper, let h = open(), let second = h.secondReader() else {
            for i in needed { _ = load(i) }
            return
        }
        // Both threads take the next unit until none are left (units differ in size).
        let results = UnsafeMutableBufferPointer<UnitRows?>.allocate(capacity: needed.count)
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        let dies = h.unitDIEs
        let sections = h.lineSections
        helper.share(needed.count) { k, onHelper in
            var die = onHelper ? second.units[needed[k]] : dies[needed[k]]
            results[k] = Self.readUnit(&die, index: needed[k], sections: sections)
        }
        for r in results { if let u = r { adopt(u) } }
    }

    /// Reads one unit's line table into plain memory: with ``LineProgram`` when `sections` are given and it
    /// reads the program, else with libdw. Touches nothing shared but the unit's libdw reader, so units of
    /// different readers can be read on different threads.
    private static func readUnit(_ cudie: inout Dwarf_Die, index: Int, sections: LineSections?) -> UnitRows {
        let u = UnitRows()
        u.index = index
        let dir = DwarfHandle.compilationDirectory(of: &cudie)
        if let sections, let direct = readUnitDirectly(&cudie, u, compDir: dir, sections: sections) { return direct }
        let first = DwarfHandle.firstLineDirectory(of: &cudie)
        var lines: OpaquePointer? = nil
        var n = 0
        guard dwarf_getsrclines(&cudie, &lines, &n) == 0, let lines, n > 0 else { return u }
        var entries = UnsafeMutablePointer<LineEntry>.allocate(capacity: n)
        var columns = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        // libdw hands back the same string for the same file: map its address to a local id, once.
        var byPointer: [UnsafePointer<CChar>: Int32] = [:]
        var lastPointer: UnsafePointer<CChar>? = nil
        var lastFile: Int32 = 0
        var unknownFile: Int32 = -1
        var k = 0
        var sorted = true
        var previous: UInt64 = 0
        for i in 0..<n {
            guard let l = dwarf_onesrcline(lines, i) else { continue }
            var addr: Dwarf_Addr = 0, line: Int32 = 0, col: Int32 = 0
            var end = false
            dwarf_lineaddr(l, &addr)
            dwarf_lineno(l, &line)
            dwarf_linecol(l, &col)
            dwarf_lineendsequence(l, &end)
            var f: Int32
            if let p = dwarf_linesrc(l, nil, nil) {
                if p == lastPointer { f = lastFile } else {
                    if let known = byPointer[p] { f = known } else {
                        f = Int32(u.localFiles.count)
                        u.localFiles.append(DwarfHandle.displayPath(String(cString: p), compDir: dir, firstDirectory: first))
                        byPointer[p] = f
                    }
                    lastPointer = p
                    lastFile = f
                }
            } else {
                if unknownFile < 0 {
                    unknownFile = Int32(u.localFiles.count)
                    u.localFiles.append("??")
                }
                f = unknownFile
            }
            if addr < previous { sorted = false }
            previous = addr
            entries[k] = LineEntry(address: addr, file: end ? -1 : f, line: line)
            columns[k] = col
            k += 1
        }
        if !sorted {
            // Sequences can come in any order (libdw sorts them; in case it did not): by address, and within
            // one address in the table's order.
            var order = Array(0..<k)
            order.sort { entries[$0].address != entries[$1].address ? entries[$0].address < entries[$1].address : $0 < $1 }
            let ne = UnsafeMutablePointer<LineEntry>.allocate(capacity: n), nc = UnsafeMutablePointer<Int32>.allocate(capacity: n)
            for (j, o) in order.enumerated() { ne[j] = entries[o]; nc[j] = columns[o] }
            entries.deallocate(); columns.deallocate()
            entries = ne; columns = nc
        }
        u.rows = Self.indexed(entries: entries, columns: columns, count: k)
        return u
    }

    /// ``readUnit(_:index:sections:)`` through ``LineProgram``; nil when the program cannot be read so.
    private static func readUnitDirectly(_ cudie: inout Dwarf_Die, _ u: UnitRows, compDir: String, sections: LineSections) -> UnitRows? {
        var a = Dwarf_Attribute()
        var offset: Dwarf_Word = 0
        guard dwarf_attr(&cudie, UInt32(DW_AT_stmt_list), &a) != nil, dwarf_formudata(&a, &offset) == 0,
              let program = try? LineProgram(sections: sections, offset: Int(offset), compDir: compDir.isEmpty ? nil : compDir),
              var rows = try? program.rows() else { return nil }
        // libdw's order: by address, a row that ends a sequence before one that starts the next, else as written.
        var ordered = true
        for j in rows.indices.dropFirst() where rows[j].address < rows[j - 1].address
            || (rows[j].address == rows[j - 1].address && rows[j].endSequence && !rows[j - 1].endSequence) { ordered = false; break }
        if !ordered {
            rows = rows.enumerated().sorted {
                ($0.element.address, $0.element.endSequence ? 0 : 1, $0.offset) < ($1.element.address, $1.element.endSequence ? 0 : 1, $1.offset)
            }.map(\.element)
        }
        let n = rows.count
        let entries = UnsafeMutablePointer<LineEntry>.allocate(capacity: max(1, n))
        let columns = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, n))
        var byIndex: [UInt64: Int32] = [:]
        let first = program.firstDirectory
        for (k, r) in rows.enumerated() {
            var f: Int32
            if let known = byIndex[r.file] { f = known } else {
                f = Int32(u.localFiles.count)
                let name = program.libdwName(Int(truncatingIfNeeded: r.file)) ?? "??"
                u.localFiles.append(name == "??" ? name : DwarfHandle.displayPath(name, compDir: compDir, firstDirectory: first))
                byIndex[r.file] = f
            }
            entries[k] = LineEntry(address: r.address, file: r.endSequence ? -1 : f, line: Int32(truncatingIfNeeded: r.line))
            columns[k] = Int32(truncatingIfNeeded: r.column)
        }
        u.rows = indexed(entries: entries, columns: columns, count: n)
        return u
    }

    /// Sorted rows with their bucket index (see ``LineRows``).
    private static func indexed(entries: UnsafeMutablePointer<LineEntry>, columns: UnsafeMutablePointer<Int32>, count k: Int) -> LineRows {
        var t = LineRows(loaded: true, count: k, entries: entries, columns: columns)
        if k > 0 {
            t.base = entries[0].address
            let span = entries[k - 1].address &- t.base
            var sh: UInt64 = 0
            while (span >> sh) >= UInt64(k) { sh += 1 }
            t.shift = sh
            t.bucketCount = Int(span >> sh) + 1
            let b = UnsafeMutablePointer<Int32>.allocate(capacity: t.bucketCount + 1)
            var j = 0
            for bucket in 0..<t.bucketCount {
                let start = t.base &+ (UInt64(bucket) << sh)
                while j < k, entries[j].address < start { j += 1 }
                b[bucket] = Int32(j)
            }
            b[t.bucketCount] = Int32(k)
            t.buckets = b
        }
        return t
    }
}
