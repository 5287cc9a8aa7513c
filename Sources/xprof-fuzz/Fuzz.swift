#if canImport(Glibc)
import Glibc
#endif
import SampleIO
import SymbolMap
#if XPROF_FUZZ
import CPerfShim
#endif

/// libFuzzer targets for xprof's decoders (`make fuzz SECONDS=N`; docs/ARCHITECTURE.md, "Fuzzing").
///
/// Built with `swift build --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DXPROF_FUZZ`,
/// this is a libFuzzer binary: `XPROF_FUZZ_TARGET` picks the decoder each input is given to, and every
/// batch the decoder hands out is read. Built normally (as `swift build` does), it replays inputs instead:
/// `xprof-fuzz TARGET FILE...` decodes each file as the fuzzer would and prints what happened, so a crash
/// kept under `Fixtures/fuzz/` can be rerun without the sanitizer toolchain.
///
/// Targets: `perfdata` (perf.data, file and pipe mode, compressed), `xprof` (the native format),
/// `xenoprof` (a capture packed with tar, with `capture.json`), `oprofile` (the words of an OProfile
/// stream, placed in a fixed capture with one active domain), `xentrace` (a xentrace file), `kallsyms` (the
/// text of /proc/kallsyms or a System.map, then looked up), `elf` (an ELF file's headers and symbol tables,
/// then looked up), `dwarf` (an ELF file's DWARF line and inline tables, asked for addresses around its
/// symbols through every path: the index on two threads, the line rows, one address at a time).
enum FuzzTarget: String, CaseIterable {
    case perfdata, xprof, xenoprof, oprofile, xentrace, kallsyms, elf, dwarf

    /// Decodes `bytes` (written to `scratch` first: the decoders read files) and drains every batch.
    /// - Returns: a one-line summary (samples, or the error's first line).
    @discardableResult
    func decode(_ bytes: UnsafeRawBufferPointer, scratch: String) -> String {
        let file: [UInt8] = self == .oprofile ? Tar.archive([("capture.json", Array(Self.oprofileCapture.utf8)),
                                                             ("oprofile.stream", Array(bytes))])
                                              : Array(bytes)
        if self == .kallsyms {
            // Both readers of symbol text, then lookups at, around and between every symbol found.
            let text = String(decoding: bytes, as: UTF8.self)
            let (k, bad) = SymbolTable.kallsyms(text: text)
            let (m, _) = SymbolTable.systemMap(text: text)
            var hits = 0
            for t in [k, m] {
                for a in Self.probes(t) where t.lookup(a) != nil { hits += 1 }
            }
            return "\(k.count) kallsyms, \(m.count) System.map symbols, \(bad.count) bad lines, \(hits) hits"
        }
        do throws(SampleIOError) {
            try FileBytes.write(file, to: scratch)
            let source: any SampleSource
            switch self {
            case .perfdata: source = try PerfDataFormat.open(path: scratch)
            case .xprof: source = try XprofFormat.open(path: scratch)
            case .xenoprof, .oprofile: source = try XenoprofCaptureFormat.open(path: scratch)
            case .xentrace: source = try XentraceFormat.open(path: scratch, options: ReadOptions())
            case .kallsyms: return ""
            case .dwarf: return Self.dwarf(scratch)
            case .elf:
                do throws(SymbolMapError) {
                    let image = try ElfImage(path: scratch)
                    var hits = 0
                    for a in Self.probes(image.symbols) where image.symbols.lookup(a) != nil { hits += 1 }
                    for s in image.loadSegments { _ = image.virtualAddress(forFileOffset: s.fileOffset &+ 1) }
                    return "\(image.symbols.count) symbols, \(image.loadSegments.count) segments, \(hits) hits"
                } catch {
                    return "refused: " + (error.description.split(separator: "\n").first.map(String.init) ?? "")
                }
            }
            var samples = 0, frames = 0
            while let batch = try source.nextBatch() {
                samples += batch.samples.count
                for i in batch.samples.indices where batch.samples[i].chainCount > 0 { frames += batch.callchain(of: i).count }
            }
            return "\(samples) samples, \(frames) frames, \(source.stats.warnings.count) warnings"
        } catch {
            return "refused: " + (error.description.split(separator: "\n").first.map(String.init) ?? "")
        }
    }

    /// Addresses to look up in `table`: each symbol's start, one byte before and after, and far outside.
    static func probes(_ table: SymbolTable) -> [UInt64] {
        var out: [UInt64] = [0, 1, UInt64.max, UInt64.max - 1, 0xffff_ffff_8100_0000]
        for i in 0..<min(table.count, 4096) {
            let a = table.start(at: i)
            out += [a, a &- 1, a &+ 1, a &+ 0x1000]
        }
        return out
    }

    /// The `dwarf` target: the file's DWARF asked for lines and inline chains at ``dwarfProbes(_:)`` through
    /// `Symbolizer` (the index, units read on two threads; the line rows of `--lines`; the inline TSV) and
    /// through a `DwarfLines` of its own (one address at a time, no helper). Damage must give an error or a
    /// miss (docs/ARCHITECTURE.md, "Line and inline index", "Damaged DWARF").
    static func dwarf(_ path: String) -> String {
        do throws(SymbolMapError) {
            let symbolizer = try Symbolizer(path: path, debugDirectories: [])
            guard symbolizer.format == .elf else { return "not ELF" }
            let addresses = dwarfProbes(symbolizer.table)
            let results = symbolizer.symbolize(addresses, lines: true, inlines: true)
            let located = results.filter { $0.location != nil }.count
            let frames = results.reduce(0) { $0 + $1.frames.count }
            let rows = symbolizer.tsv(addresses, lines: true).count
            let inlineRows = symbolizer.inlineTSV(addresses).count
            let lines = try DwarfLines(path: path)
            var single = 0
            for a in addresses.prefix(48) {
                single += lines.frames(for: a).count
                if let l = lines.location(for: a) { single += 1; _ = lines.fullPath(l.file, for: a) }
                _ = lines.rawLocation(for: a)
            }
            return "\(addresses.count) addresses, \(located) located, \(frames) frames, \(rows)+\(inlineRows) TSV bytes, "
                + "\(single) single answers, \(lines.unitCount) units\(lines.problem.map { "; " + $0 } ?? "")"
        } catch {
            return "refused: " + (error.description.split(separator: "\n").first.map(String.init) ?? "")
        }
    }

    /// Addresses for the `dwarf` target: for the first symbols, every 3rd byte of their first 48 (inline
    /// chains change there), their last byte and one past it; a few far outside.
    static func dwarfProbes(_ table: SymbolTable) -> [UInt64] {
        var out: [UInt64] = [0, 1, 0x40_0000, 0x40_1000, UInt64.max]
        for i in 0..<min(table.count, 32) {
            let a = table.start(at: i)
            for k in stride(from: UInt64(0), to: 48, by: 3) { out.append(a &+ k) }
            out.append(a &- 1)
        }
        return out
    }

    /// The capture an `oprofile` input is the stream of: 64-bit words, one cookie.
    static let oprofileCapture = """
        {"format": "xenoprof-capture", "version": 1, "xen_version": "4.17.5", "word_size": 64, "cpu_type": "x86-64/generic",
         "pcpus": 2, "events": [{"name": "CPU_CLK_UNHALTED", "count": 100000, "unit_mask": 0}],
         "domains": [{"id": 0, "name": "Domain-0", "role": "active", "vcpus": 2, "max_samples": 16}],
         "oprofile_stream": {"file": "oprofile.stream", "word_size": 64, "cookies": {"0x5a1f": "/usr/bin/dbench"}}}
        """
}

/// Just enough of ustar (POSIX.1-1988) to pack a few regular files.
enum Tar {
    static func archive(_ members: [(name: String, bytes: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, bytes) in members {
            var h = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int) { for (k, b) in text.utf8.enumerated() { h[offset + k] = b } }
            func octal(_ value: Int, width: Int) -> String {
                let digits = String(value, radix: 8)
                return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
            }
            put(name, at: 0)
            put(octal(0o644, width: 8), at: 100)
            put(octal(0, width: 8), at: 108)
            put(octal(0, width: 8), at: 116)
            put(octal(bytes.count, width: 12), at: 124)
            put(octal(0, width: 12), at: 136)
            put("        ", at: 148)  // the checksum counts its own field as spaces
            put("0", at: 156)
            put("ustar", at: 257)
            put("00", at: 263)
            let sum = h.reduce(0) { $0 + Int($1) }
            put(octal(sum, width: 7), at: 148)
            h[155] = 32
            out += h
            out += bytes
            out += [UInt8](repeating: 0, count: (512 - bytes.count % 512) % 512)
        }
        return out + [UInt8](repeating: 0, count: 1024)
    }
}

/// Where each input is written for the decoders (one file per process, under $TMPDIR).
let scratchFile: String = {
    let dir = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    return dir + "/xprof-fuzz-\(getpid()).input"
}()

#if XPROF_FUZZ
let fuzzTarget: FuzzTarget = {
    guard let name = getenv("XPROF_FUZZ_TARGET").map({ String(cString: $0) }), let t = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        try? SystemCalls.writeAll(2, Array("xprof-fuzz: set XPROF_FUZZ_TARGET to one of: \(names)\n".utf8)[...])
        exit(64)
    }
    return t
}()

/// The program's `main`: SwiftPM links an executable target with `main` renamed to `xprof_fuzz_main`, so
/// libFuzzer's own `main` is not used and its driver is started from here.
@_cdecl("xprof_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    _ = fuzzTarget
    setenv("XPROF_SYMBOL_CACHE", "off", 1)  // every input is a new file: the symbol cache would only grow
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in fuzzOneInput(data, size) }
}

/// libFuzzer's callback: one input, decoded by the chosen target.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzTarget.decode(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size), scratch: scratchFile)
    return 0
}
#else
@main
enum Replay {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        guard let name = args.first, let target = FuzzTarget(rawValue: name), args.count >= 2 else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
            try? SystemCalls.writeAll(2, Array("usage: xprof-fuzz \(names) FILE...  (decodes each file as the fuzz target does)\n".utf8)[...])
            exit(64)
        }
        defer { unlink(scratchFile) }
        setenv("XPROF_SYMBOL_CACHE", "off", 1)
        for path in args.dropFirst() {
            do throws(SampleIOError) {
                let bytes = try FileBytes.read(path)
                let summary = bytes.withUnsafeBytes { target.decode($0, scratch: scratchFile) }
                print("\(path): \(summary)")
            } catch {
                print("\(path): cannot read: \(error)")
            }
        }
    }
}
#endif
