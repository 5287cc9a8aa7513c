import Profile
/// Output formats of `xprof annotate`.
public enum AnnotateFormat: String, Sendable, CaseIterable {
    case text, json
}

/// Renders an ``Annotation`` as text (like `opannotate --source` and `pprof -list`) or JSON
/// (`xprof.annotate/1`).
public enum AnnotationRenderer {
    /// The annotation in `format`; `inlines` lists the inlined lines under each source line in text (JSON always
    /// carries them).
    public static func render(_ a: Annotation, as format: AnnotateFormat, inlines: Bool) -> String {
        switch format {
        case .text: text(a, inlines: inlines)
        case .json: json(a)
        }
    }

    static func share(_ part: UInt64, of whole: UInt64) -> Double {
        whole == 0 ? 0 : Double(part) * 100 / Double(whole)
    }

    /// The three count columns: samples, share of the function's period, share of the total period.
    static func counts(_ t: SampleTally, _ f: AnnotatedFunction, _ a: Annotation) -> String {
        if t.samples == 0 && t.period == 0 { return pad(".", 9) + pad(".", 8) + pad(".", 8) }
        return pad(String(t.samples), 9) + pad(ReportRenderer.pct(share(t.period, of: f.tally.period)), 8)
            + pad(ReportRenderer.pct(share(t.period, of: a.total.period)), 8)
    }

    static func pad(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - s.count)) + s
    }

    /// Text: a heading per function, then its source lines with samples and the lines around them, each
    /// as `samples %func %total line  text`; `...` where lines are left out; inlined callees named on their
    /// call's line (with `inlines`, listed under it line by line); the `??` row; notes; the disassembly.
    public static func text(_ a: Annotation, inlines: Bool) -> String {
        var out = "# xprof annotate of \(a.source)"
        if let e = a.event { out += ", event \(e)" }
        if !a.filterDescription.isEmpty { out += " (only \(a.filterDescription))" }
        out += "\n# \(a.total.samples) samples, event count (period) \(a.total.period); "
        out += "%Func and %Total are shares of the event period of the function and of all samples\n"
        if a.functions.isEmpty { out += "\n(no samples)\n" }
        for f in a.functions {
            out += "\n" + functionText(f, a, inlines: inlines)
        }
        return out
    }

    static func functionText(_ f: AnnotatedFunction, _ a: Annotation, inlines: Bool) -> String {
        var out = "ROUTINE \(f.symbol) in \(f.image): \(f.tally.samples) samples, "
        out += ReportRenderer.pct(share(f.tally.period, of: a.total.period)) + "% of the total\n"
        if let p = f.imagePath { out += "  image \(p)\n" }
        if let note = f.note { out += "  note: \(note)\n" }
        if !f.inlinedCallees.isEmpty {
            let list = f.inlinedCallees.map { "\($0.name) (\($0.tally.samples) samples)" }.joined(separator: ", ")
            out += "  inlined into it: \(list)" + (inlines ? "\n" : "; --inlines shows their lines\n")
        }
        let head = pad("Samples", 9) + pad("%Func", 8) + pad("%Total", 8) + pad("Line", 8) + "  Source\n"
        for file in f.files {
            out += "  source \(file.foundAt ?? file.path)"
            if let at = file.foundAt, at != file.path { out += " (DWARF: \(file.path))" }
            out += "\n"
            if let note = file.note { out += "  note: \(note)\n" }
            out += head
            for row in file.lines {
                if row.gapBefore { out += pad("...", 33) + "\n" }
                var line = counts(row.tally, f, a) + pad(String(row.line), 8)
                if let t = row.text { line += "  " + t }
                out += line + "\n"
                if !inlines, !row.inlined.isEmpty {
                    // The source text stays the file's own: the inlined callees go on a line of their own.
                    var by: [(String, UInt64)] = []
                    for s in row.inlined {
                        if let i = by.firstIndex(where: { $0.0 == s.function }) { by[i].1 += s.tally.samples } else { by.append((s.function, s.tally.samples)) }
                    }
                    out += pad("", 33) + "  ↳ inlined: " + by.map { "\($0.0) (\($0.1) samples)" }.joined(separator: ", ") + "\n"
                }
                if inlines {
                    for s in row.inlined {
                        var l = counts(s.tally, f, a) + pad("", 8) + "  ↳ " + (s.via + [s.function]).joined(separator: " → ")
                        l += " " + basename(s.file) + ":" + String(s.line)
                        if let t = s.text { l += "  |" + t }
                        out += l + "\n"
                    }
                }
            }
        }
        if f.unknownLines.samples > 0 && !f.files.isEmpty {
            out += counts(f.unknownLines, f, a) + pad("??", 8) + "  (addresses without line information)\n"
        }
        if f.files.isEmpty && f.instructions.isEmpty {
            // No source lines: the counts per address.
            out += pad("Samples", 9) + pad("%Func", 8) + pad("%Total", 8) + "  Address\n"
            for ad in f.addresses {
                out += counts(ad.tally, f, a) + "  0x" + String(ad.address, radix: 16) + "\n"
            }
        }
        if !f.instructions.isEmpty || f.asmNote != nil {
            out += "  disassembly (objdump)\n"
            if let n = f.asmNote { out += "  note: \(n)\n" }
            if !f.instructions.isEmpty {
                out += pad("Samples", 9) + pad("%Func", 8) + pad("%Total", 8) + "  Address   Instruction\n"
                var lastLine: String?
                for ins in f.instructions {
                    if let file = ins.file, let l = ins.line {
                        let key = file + ":" + String(l)
                        if key != lastLine {
                            lastLine = key
                            var src = pad("", 25) + "  " + basename(file) + ":" + String(l)
                            if let t = sourceText(f, file: file, line: l) { src += "  " + t.trimmedLeadingSpace() }
                            out += src + "\n"
                        }
                    }
                    let addr = "0x" + String(ins.address, radix: 16)
                    out += counts(ins.tally, f, a) + "  " + addr + String(repeating: " ", count: max(1, 10 - addr.count)) + ins.text + "\n"
                }
            }
        }
        return out
    }

    static func sourceText(_ f: AnnotatedFunction, file: String, line: Int) -> String? {
        f.files.first { $0.path == file }?.lines.first { $0.line == line }?.text
    }

    /// JSON (`xprof.annotate/1`): every figure of the text, per line, inlined site, address and instruction.
    public static func json(_ a: Annotation) -> String {
        func tally(_ t: SampleTally, _ f: AnnotatedFunction?) -> [String: JSONValue] {
            var o: [String: JSONValue] = ["samples": .of(t.samples), "period": .of(t.period),
                                          "percent_of_total": .of(share(t.period, of: a.total.period))]
            if let f { o["percent_of_function"] = .of(share(t.period, of: f.tally.period)) }
            return o
        }
        func opt(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
        func hex(_ v: UInt64) -> JSONValue { .string("0x" + String(v, radix: 16)) }
        let functions: [JSONValue] = a.functions.map { f in
            var o = tally(f.tally, nil)
            o["symbol"] = .of(f.symbol)
            o["image"] = .of(f.image)
            o["image_path"] = opt(f.imagePath)
            o["start"] = f.start.map(hex) ?? .null
            o["size"] = .of(f.size)
            o["note"] = opt(f.note)
            o["unknown_lines"] = .object(tally(f.unknownLines, f))
            o["inlined_callees"] = .array(f.inlinedCallees.map { c in
                var x = tally(c.tally, f)
                x["function"] = .of(c.name)
                return .object(x)
            })
            o["files"] = .array(f.files.map { file in
                var x = tally(file.tally, f)
                x["path"] = .of(file.path)
                x["found_at"] = opt(file.foundAt)
                x["line_count"] = .of(file.lineCount)
                x["note"] = opt(file.note)
                x["lines"] = .array(file.lines.map { row in
                    var r = tally(row.tally, f)
                    r["line"] = .of(row.line)
                    r["text"] = opt(row.text)
                    r["gap_before"] = .bool(row.gapBefore)
                    r["inlined"] = .array(row.inlined.map { s in
                        var i = tally(s.tally, f)
                        i["function"] = .of(s.function)
                        i["via"] = .of(s.via)
                        i["file"] = .of(s.file)
                        i["line"] = .of(s.line)
                        i["text"] = opt(s.text)
                        return .object(i)
                    })
                    return .object(r)
                })
                return .object(x)
            })
            o["addresses"] = .array(f.addresses.map { ad in
                var x = tally(ad.tally, f)
                x["address"] = hex(ad.address)
                x["file"] = opt(ad.file)
                x["line"] = ad.line.map { .of($0) } ?? .null
                return .object(x)
            })
            if !f.instructions.isEmpty || f.asmNote != nil {
                o["instructions"] = .array(f.instructions.map { ins in
                    var x = tally(ins.tally, f)
                    x["address"] = hex(ins.address)
                    x["text"] = .of(ins.text)
                    x["file"] = opt(ins.file)
                    x["line"] = ins.line.map { .of($0) } ?? .null
                    return .object(x)
                })
                o["asm_note"] = opt(f.asmNote)
            }
            return .object(o)
        }
        let o: [String: JSONValue] = [
            "schema": "xprof.annotate/1",
            "source": .of(a.source),
            "event": opt(a.event),
            "filter": .of(a.filterDescription),
            "total_samples": .of(a.total.samples),
            "total_period": .of(a.total.period),
            "functions": .array(functions),
            "warnings": .of(a.warnings),
        ]
        return JSONValue.object(o).rendered()
    }
}

extension String {
    func trimmedLeadingSpace() -> String { String(drop { $0 == " " || $0 == "\t" }) }
}
