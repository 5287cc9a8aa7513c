import ArgumentParser
import CPerfShim
import Profile
import SampleIO
import SwiftProtobuf
import XProfCLI
#if canImport(Glibc)
import Glibc
#endif

/// `xprof export --format pprof` runs this executable (installed next to `xprof`) with the same arguments: the
/// protocol-buffer library lives here so that it does not weigh on every start of `xprof`.
struct PProfCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xprof-pprof",
        abstract: "Write a profile as pprof's gzip-compressed protocol buffer (run by `xprof export --format pprof`).",
        discussion: """
        Values: samples/count and the event period (cpu/nanoseconds for the CPU clocks). Labels: comm, pid,
        domain (`xen` for the hypervisor), mode, and event when the recording has several, e.g.
        `pprof -tagfocus domain=2`. Locations carry source lines where the image has DWARF.
        """
    )

    @Argument(help: "The profile (any input xprof reads).") var file: String
    @Option(name: .short, help: "Output file (default: stdout, which must not be a terminal).") var output: String?
    @OptionGroup var selection: SampleSelectionOptions
    @Flag(name: .customLong("no-lines"), help: "Do not look up source lines.") var noLines = false
    @OptionGroup var symbols: SymbolOptionGroup
    @OptionGroup var input: InputOptions

    func validate() throws {
        if output == nil && isatty(1) != 0 {
            throw ValidationError("pprof output is binary: give -o FILE (e.g. -o profile.pb.gz) or redirect standard output")
        }
    }

    func run() throws {
        var o = PProfProfile.Options()
        o.symbols = symbols.options
        o.lines = !noLines
        let path = file, input = input, selection = selection
        let profile = runReporting { () throws -> PProfProfile in
            let source = try input.open(path)
            o.selection = try selection.selection(for: source.metadata, path: path, input: input)
            return try PProfProfile.build(source: source, options: o)
        }
        let bytes = runReporting { () throws(SampleIOError) -> [UInt8] in try Self.encode(profile) }
        if let output {
            runReporting { try FileBytes.write(bytes, to: output) }
            printError("wrote \(output): \(profile.totalSamples) samples in \(profile.samples.count) stacks, "
                + "\(profile.locations.count) locations, \(profile.functions.count) functions")
        } else {
            writeStandardOutput(bytes)
        }
    }

    /// The profile as pprof's message, serialized and gzip-compressed.
    static func encode(_ p: PProfProfile) throws(SampleIOError) -> [UInt8] {
        func valueType(_ v: PProfProfile.ValueType) -> Perftools_Profiles_ValueType {
            var t = Perftools_Profiles_ValueType()
            t.type = v.type
            t.unit = v.unit
            return t
        }
        var m = Perftools_Profiles_Profile()
        m.sampleType = p.sampleTypes.map(valueType)
        m.periodType = valueType(p.periodType)
        m.period = p.period
        m.defaultSampleType = p.defaultSampleType
        m.timeNanos = p.timeNanos
        m.durationNanos = p.durationNanos
        m.comment = p.comments
        m.mapping = p.mappings.map { x in
            var y = Perftools_Profiles_Mapping()
            y.id = x.id
            y.filename = x.filename
            y.hasFunctions_p = true
            y.hasFilenames_p = true
            y.hasLineNumbers_p = true
            return y
        }
        m.location = p.locations.map { x in
            var y = Perftools_Profiles_Location()
            y.id = x.id
            y.mappingID = x.mappingID
            y.address = x.address
            var line = Perftools_Profiles_Line()
            line.functionID = x.functionID
            line.line = x.line
            y.line = [line]
            return y
        }
        m.function = p.functions.map { x in
            var y = Perftools_Profiles_Function()
            y.id = x.id
            y.name = x.name
            y.systemName = x.name
            y.filename = x.filename
            return y
        }
        m.sample = p.samples.map { x in
            var y = Perftools_Profiles_Sample()
            y.locationID = x.locationIDs
            y.value = x.values
            y.label = x.labels.map { l in
                var z = Perftools_Profiles_Label()
                z.key = l.key
                z.str = l.str
                z.num = l.num
                return z
            }
            return y
        }
        m.stringTable = p.strings
        let raw: [UInt8]
        do {
            raw = try m.serializedBytes()
        } catch {
            throw SampleIOError(.other, "the pprof profile could not be encoded: \(error)", path: "")
        }
        var out = [UInt8](repeating: 0, count: Int(xprof_deflate_bound(raw.count)) + 64)
        let n = raw.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in xprof_gzip(src.baseAddress, src.count, dst.baseAddress, dst.count, 6) }
        }
        guard n >= 0 else { throw SampleIOError(.other, "zlib could not compress the pprof profile (\(raw.count) bytes)", path: "") }
        return Array(out.prefix(Int(n)))
    }
}

PProfCommand.main()
