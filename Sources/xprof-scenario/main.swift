// xprof-scenario: writes SYNTHETIC Xenoprof captures from a small JSON description, for tests and demos.
// Sample addresses are picked inside real functions of real symbol tables (Debian's xen-syms, a guest
// kernel's System.map); the rings are filled with Xen's producer rules by SampleIO's XenoprofRingWriter.
// Every capture it writes says "synthetic" in capture.json, and xprof's reports print that.
import ArgumentParser
import Foundation
import SampleIO
import SymbolMap

struct Description: Codable {
    struct Event: Codable { var name: String; var count: UInt64 }
    struct Hot: Codable {
        /// Which symbol table: "xen" or a name given with --map NAME=PATH; absent with "address".
        var symbols: String?
        var function: String?
        /// A raw address instead of a function (user samples of passive domains, say).
        var address: String?
        var mode: String
        var samples: Int
        var event: UInt8?
        /// Callers (function names in the same table) to log as a backtrace with each sample.
        var callers: [String]?
    }
    struct Domain: Codable {
        var id: UInt32
        var name: String?
        var role: String
        var vcpus: Int
        var max_samples: Int
        var snapshots: Int
        var word_size: Int?
        var hot: [Hot]
    }
    var synthetic: String?
    var xen_version: String?
    var pcpus: Int?
    var seed: UInt64?
    var events: [Event]
    var domains: [Domain]
}

@main
struct Scenario: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xprof-scenario",
        abstract: "Write a SYNTHETIC Xenoprof capture from a JSON description (see Fixtures/xenoprof/README.md)."
    )

    @Argument(help: "The scenario description (JSON).") var description: String
    @Option(name: .short, help: "Output capture folder.") var output: String
    @Option(help: "xen-syms to pick hypervisor addresses from.") var xen: String?
    @Option(help: ArgumentHelp("A symbol table (System.map, kallsyms or ELF) by name.", valueName: "NAME=PATH")) var map: [String] = []

    func run() throws {
        let desc = try JSONDecoder().decode(Description.self, from: Data(contentsOf: URL(fileURLWithPath: description)))
        var tables: [String: SymbolTable] = [:]
        if let xen { tables["xen"] = try ElfImage(path: xen).symbols }
        for m in map {
            guard let eq = m.firstIndex(of: "=") else { throw ValidationError("--map expects NAME=PATH") }
            let path = String(m[m.index(after: eq)...])
            let text = try String(contentsOfFile: path, encoding: .utf8)
            tables[String(m[..<eq])] = text.hasPrefix("\u{7f}ELF") ? try ElfImage(path: path).symbols : SymbolTable.systemMap(text: text).0
        }
        var rng = desc.seed ?? 0x5EED
        func random(_ n: UInt64) -> UInt64 {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            return n == 0 ? 0 : rng % n
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        var domainsJSON: [[String: Any]] = []
        for d in desc.domains {
            guard d.vcpus > 0, d.snapshots > 0, d.max_samples > 1 else { throw ValidationError("domain \(d.id): vcpus, snapshots and max_samples must be positive") }
            // Every sample to log: (address, mode, event, callers).
            var todo: [(UInt64, SampleMode, UInt8, [UInt64])] = []
            for h in d.hot {
                guard let mode = SampleMode(name: h.mode), mode != .unknown else { throw ValidationError("mode '\(h.mode)'") }
                var pick: () throws -> UInt64
                if let a = h.address {
                    guard let v = UInt64(a.hasPrefix("0x") ? String(a.dropFirst(2)) : a, radix: 16) else { throw ValidationError("address '\(a)'") }
                    pick = { v + random(64) * 4 }
                } else {
                    guard let tname = h.symbols, let table = tables[tname] else {
                        throw ValidationError("domain \(d.id): symbol table '\(h.symbols ?? "")' not given (--xen or --map)")
                    }
                    guard let fname = h.function, let f = table.symbol(named: fname) else {
                        throw ValidationError("domain \(d.id): no function '\(h.function ?? "")' in '\(tname)'")
                    }
                    pick = { f.start + random(max(1, f.size)) }
                }
                var callers: [UInt64] = []
                for c in h.callers ?? [] {
                    guard let t = h.symbols.flatMap({ tables[$0] }), let f = t.symbol(named: c) else { throw ValidationError("caller '\(c)'") }
                    callers.append(f.start + random(max(1, f.size)))
                }
                for _ in 0..<h.samples { todo.append((try pick(), mode, h.event ?? 0, callers)) }
            }
            // Shuffle, then spread over snapshots and vCPUs.
            for i in stride(from: todo.count - 1, to: 0, by: -1) { todo.swapAt(i, Int(random(UInt64(i + 1)))) }
            let wordSize = d.word_size ?? 64
            let writer = XenoprofRingWriter(vcpus: d.vcpus, maxSamples: d.max_samples, wordSize: wordSize,
                                            escape: wordSize == 32 ? 0xFFFF_FFFF : nil)
            // Xen logs a backtrace for every sample of a domain or for none: once any sample has callers,
            // all of the domain's samples are logged as traces (some with no callers).
            let tracing = todo.contains { !$0.3.isEmpty }
            let perSnap = (todo.count + d.snapshots - 1) / d.snapshots
            for s in 0..<d.snapshots {
                let slice = todo[min(todo.count, s * perSnap)..<min(todo.count, (s + 1) * perSnap)]
                for (k, (ip, mode, event, callers)) in slice.enumerated() {
                    if !tracing {
                        writer.log(vcpu: k % d.vcpus, ip: ip, mode: mode, event: event)
                    } else {
                        writer.logTrace(vcpu: k % d.vcpus, ip: ip, mode: mode, event: event, callers: callers)
                    }
                }
                writer.snapshot()
            }
            let rings = "dom\(d.id).rings"
            try Data(writer.snapshots).write(to: URL(fileURLWithPath: output + "/" + rings))
            var dj: [String: Any] = ["id": d.id, "name": d.name ?? "domain\(d.id)", "role": d.role, "vcpus": d.vcpus,
                                     "max_samples": d.max_samples, "rings": rings, "snapshots": d.snapshots]
            if wordSize == 32 { dj["word_size"] = 32; dj["escape"] = "0xFFFFFFFF" }
            domainsJSON.append(dj)
            FileHandle.standardError.write(Data("xprof-scenario: domain \(d.id): \(todo.count) samples, \(writer.lost) lost to full rings\n".utf8))
        }
        let capture: [String: Any] = [
            "format": "xenoprof-capture", "version": 1, "xen_version": desc.xen_version ?? "4.17.5", "word_size": 64,
            "cpu_type": "x86-64/generic", "pcpus": desc.pcpus ?? 4,
            "synthetic": desc.synthetic ?? "generated by xprof-scenario from \(URL(fileURLWithPath: description).lastPathComponent)",
            "events": desc.events.map { ["name": $0.name, "count": $0.count, "unit_mask": 0] as [String: Any] },
            "domains": domainsJSON,
        ]
        let json = try JSONSerialization.data(withJSONObject: capture, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try json.write(to: URL(fileURLWithPath: output + "/capture.json"))
    }
}
