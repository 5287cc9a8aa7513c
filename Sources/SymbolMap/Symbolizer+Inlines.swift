extension Symbolizer {
    /// The TSV of `xprof symbolize --inlines` (`address, symbol, offset, file, line, kind` per line: one
    /// `inlined` row per inlined frame, innermost first, then the `function` row with the symbol table's name
    /// and offset), built as bytes straight from the symbol table and the DWARF index, without a `String`
    /// per address: what ``SymbolizeRenderer``'s TSV gives for the same results. The index is first made to
    /// answer all of `addresses` (on two threads) and then kept in the symbol cache.
    public func inlineTSV(_ addresses: [UInt64]) -> [UInt8] {
        rowsTSV(addresses, innermostOnly: false)
    }

    /// The TSV of `xprof symbolize --lines` (`address, function, offset, file, line` per address), named as
    /// addr2line names it: the line's own function — the innermost inlined one where the address is in
    /// inlined code (`??` for its offset: it has no symbol of its own), else the symbol table's function and
    /// the offset in it. (llvm-symbolizer without inlining pairs the outer function with the inlined line.)
    public func linesTSV(_ addresses: [UInt64]) -> [UInt8] {
        rowsTSV(addresses, innermostOnly: true)
    }

    private func rowsTSV(_ addresses: [UInt64], innermostOnly: Bool) -> [UInt8] {
        let dw = preparedDwarf(addresses, inlines: true)
        var sink = ByteSink(capacity: addresses.count * (innermostOnly ? 128 : 384) + 64)
        defer { sink.release() }
        addresses.withUnsafeBufferPointer { a in
            withFormatter(lines: nil) { f in f.inlineRows(a, index: dw?.index, innermostOnly: innermostOnly, into: &sink) }
        }
        return sink.bytes()
    }
}

extension RowFormatter {
    /// The rows of ``Symbolizer/inlineTSV(_:)`` for `addresses`, from the index's tables (nil: no DWARF;
    /// every address then gets one `function` row with `??` and `0`); with `innermostOnly`, those of
    /// ``Symbolizer/linesTSV(_:)``: the first row of each address, without the kind column.
    func inlineRows(_ addresses: UnsafeBufferPointer<UInt64>, index: DwarfIndex?, innermostOnly: Bool = false, into sink: inout ByteSink) {
        let lines = index?.lines ?? [], inlines = index?.inlines ?? [], scopeTable = index?.scopes ?? []
        let files = index?.files ?? StringTable(), names = index?.names ?? StringTable()
        lines.withUnsafeBufferPointer { lines in
            inlines.withUnsafeBufferPointer { inlines in
                scopeTable.withUnsafeBufferPointer { scopes in
                    files.bytes.withUnsafeBufferPointer { fileBytes in
                        names.bytes.withUnsafeBufferPointer { nameBytes in
                            for a in addresses {
                                // The innermost frame's place: the line-table row.
                                var file: Int32 = -1, line: Int32 = 0
                                if let i = DwarfIndex.find(lines, a) {
                                    file = lines[i].file
                                    line = file >= 0 ? lines[i].line : 0
                                }
                                var s: Int32 = -1
                                if let i = DwarfIndex.find(inlines, a) { s = inlines[i].leaf }
                                // Inlined frames, innermost first; each outer one located at the call inside it.
                                var guardCount = 0
                                var wroteInlined = false
                                while s >= 0, scopes[Int(s)].parent >= 0, guardCount <= scopes.count {
                                    let scope = scopes[Int(s)]
                                    let n = names.range(scope.name)
                                    let f = file >= 0 ? files.range(file) : (0, 0)
                                    sink.reserve(n.count + f.1 + 64)
                                    putAddress(a, into: &sink)
                                    sink.put(nameBytes.baseAddress! + n.start, count: n.count)
                                    sink.put(9); sink.put(63); sink.put(63); sink.put(9)
                                    putPlace(file >= 0 ? fileBytes.baseAddress! + f.0 : nil, f.1, line, into: &sink)
                                    if innermostOnly {
                                        sink.put(10)
                                        wroteInlined = true
                                        break
                                    }
                                    Self.inlinedTail.withUnsafeBufferPointer { sink.append($0) }
                                    file = scope.callFile
                                    line = scope.callFile >= 0 ? scope.callLine : 0
                                    s = scope.parent
                                    guardCount += 1
                                }
                                if wroteInlined { continue }
                                // The function row: the symbol table's name and offset.
                                let f = file >= 0 ? files.range(file) : (0, 0)
                                let sym = symbol(a)
                                sink.reserve((sym?.nameLength ?? 0) + f.1 + 96)
                                putAddress(a, into: &sink)
                                if let sym {
                                    putSymbol(sym, at: a, into: &sink)
                                } else if s >= 0 {
                                    // No symbol, but DWARF names the function.
                                    let n = names.range(scopes[Int(s)].name)
                                    sink.reserve(n.count + f.1 + 64)
                                    sink.put(nameBytes.baseAddress! + n.start, count: n.count)
                                    sink.put(9); sink.put(63); sink.put(63)
                                } else {
                                    sink.put(63); sink.put(63); sink.put(9); sink.put(63); sink.put(63)
                                }
                                sink.put(9)
                                putPlace(file >= 0 ? fileBytes.baseAddress! + f.0 : nil, f.1, line, into: &sink)
                                if innermostOnly {
                                    sink.put(10)
                                } else {
                                    Self.functionTail.withUnsafeBufferPointer { sink.append($0) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private static let inlinedTail: [UInt8] = Array("\tinlined\n".utf8)
    private static let functionTail: [UInt8] = Array("\tfunction\n".utf8)
}
