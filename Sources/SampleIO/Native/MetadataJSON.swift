#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The METADATA chunk's JSON (docs/FORMAT.md). Kept apart from ``RunMetadata`` so the file's key names
/// are fixed here and nowhere else.
struct MetadataJSON: Codable {
    var source_format: String?
    var hostname: String?
    var kernel_release: String?
    var architecture: String?
    var cpus_online: Int?
    var cpus_used: [Int]?
    var cpu_affinity: [Int]?
    var events: [EventJSON]?
    var command: [String]?
    var start_time_ns: UInt64?
    var duration_ns: UInt64?
    var domains: [DomainJSON]?
    var symbol_hints: [HintJSON]?
    var extra: [String: String]?

    struct EventJSON: Codable {
        var name: String
        var frequency: UInt64?
        var period: UInt64?
    }
    struct DomainJSON: Codable {
        var id: UInt32
        var name: String?
        var role: String?
        var vcpus: Int?
    }
    struct HintJSON: Codable {
        var domain: UInt32
        var kind: String
        var path: String
        var build_id: String?
    }

    init(_ m: RunMetadata) {
        source_format = m.sourceFormat
        hostname = m.hostname
        kernel_release = m.kernelRelease
        architecture = m.architecture
        cpus_online = m.cpusOnline
        cpus_used = m.cpusUsed
        cpu_affinity = m.cpuAffinity.isEmpty ? nil : m.cpuAffinity
        events = m.events.map { EventJSON(name: $0.name, frequency: $0.frequency, period: $0.period) }
        command = m.command
        start_time_ns = m.startTime
        duration_ns = m.duration
        domains = m.domains.map { DomainJSON(id: $0.id.rawValue, name: $0.name, role: $0.role.rawValue, vcpus: $0.vcpus) }
        symbol_hints = m.symbolHints.map {
            HintJSON(domain: $0.domain.rawValue, kind: $0.kind.rawValue, path: $0.path, build_id: $0.buildID)
        }
        extra = m.extra
    }

    func metadata() throws(SampleIOError) -> RunMetadata {
        var m = RunMetadata()
        m.sourceFormat = source_format ?? ""
        m.hostname = hostname ?? ""
        m.kernelRelease = kernel_release ?? ""
        m.architecture = architecture ?? ""
        m.cpusOnline = cpus_online ?? 0
        m.cpusUsed = cpus_used ?? []
        m.cpuAffinity = cpu_affinity ?? []
        m.events = (events ?? []).map { EventInfo(name: $0.name, frequency: $0.frequency, period: $0.period) }
        m.command = command ?? []
        m.startTime = start_time_ns ?? 0
        m.duration = duration_ns ?? 0
        for d in domains ?? [] {
            let roleName = d.role ?? "passive"
            guard let role = DomainRole(rawValue: roleName) else {
                throw SampleIOError(.badData, "metadata: domain \(d.id) has role \"\(roleName)\", expected one of "
                                    + DomainRole.allCases.map(\.rawValue).joined(separator: ", "))
            }
            m.domains.append(DomainInfo(id: DomainID(d.id), name: d.name ?? "domain\(d.id)", role: role, vcpus: d.vcpus ?? 0))
        }
        for h in symbol_hints ?? [] {
            guard let kind = SymbolSourceKind(rawValue: h.kind) else {
                throw SampleIOError(.badData, "metadata: symbol hint \(h.path) has kind \"\(h.kind)\", expected hypervisor, kernel, module or user")
            }
            m.symbolHints.append(SymbolHint(domain: DomainID(h.domain), kind: kind, path: h.path, buildID: h.build_id ?? ""))
        }
        m.extra = extra ?? [:]
        return m
    }

    func encoded() -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return Array((try? enc.encode(self)) ?? Data("{}".utf8))
    }

    static func decode(_ bytes: [UInt8]) throws(SampleIOError) -> MetadataJSON {
        do {
            return try JSONDecoder().decode(MetadataJSON.self, from: Data(bytes))
        } catch {
            throw SampleIOError(.badData, "metadata chunk is not the JSON object docs/FORMAT.md describes: \(error)")
        }
    }
}

/// The END chunk's JSON (docs/FORMAT.md).
struct EndJSON: Codable {
    var samples: UInt64
    var duration_ns: UInt64
    var dropped: [String: Int]?
    var unknown: [String: Int]?
    var skipped: [String]?
    var warnings: [String]?

    func encoded() -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return Array((try? enc.encode(self)) ?? Data("{}".utf8))
    }

    static func decode(_ bytes: [UInt8]) throws(SampleIOError) -> EndJSON {
        do {
            return try JSONDecoder().decode(EndJSON.self, from: Data(bytes))
        } catch {
            throw SampleIOError(.badData, "end chunk is not the JSON object docs/FORMAT.md describes: \(error)")
        }
    }
}
