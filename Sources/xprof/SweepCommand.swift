import ArgumentParser
import XProfCLI
import Profile
import Render
import SampleIO
import Recording
#if canImport(Glibc)
import Glibc
#endif

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Record one workload at several CPU counts and compare the profiles (record + scale).",
        discussion: """
        For each CPU count N in --cpus (default 1, 2, 4 … and all online CPUs) the command runs on the first N \
        online CPUs only (its CPU affinity, which its threads and children inherit) while xprof samples those \
        CPUs, and every {cpus} in its arguments becomes N (to size its thread pool). The recordings go to \
        DIR/run-Ncpu.xprof; then the scaling table of `xprof scale` is printed: rows whose share grows with \
        the CPUs first. With --fixed-work the command does the same work at every count, so 1/wall time is \
        its throughput and the table adds speedup and efficiency.
        """
    )

    @Option(help: "CPU counts, comma-separated (default: 1, 2, 4 … and all online CPUs).")
    var cpus: String?

    @Option(name: .short, help: ArgumentHelp("Folder for the recordings (made if missing).", valueName: "dir"))
    var output: String = "xprof-sweep"

    @Option(name: .customShort("F"), help: ArgumentHelp(SamplingRate.help + ".", valueName: "hz|max"))
    var frequency = SamplingRate(hertz: 997)

    @Flag(name: .short, help: "Record callchains.")
    var g = false

    @Flag(help: "The command does a fixed amount of work: its throughput is 1 / wall time.")
    var fixedWork = false

    @Option(help: ArgumentHelp("Also write the top rows' shares per CPU count as an SVG line chart.", valueName: "FILE"))
    var svg: String?

    @OptionGroup var options: ReportSelection

    @Argument(parsing: .postTerminator, help: "The workload; {cpus} in its arguments becomes the CPU count.")
    var command: [String] = []

    /// `argument` with every `{cpus}` replaced by `count`.
    static func substitute(_ argument: String, count: Int) -> String {
        argument.split(separator: "{cpus}", omittingEmptySubsequences: false).joined(separator: String(count))
    }

    /// 1, 2, 4 … below `online`, and `online` itself.
    static func defaultCounts(online: Int) -> [Int] {
        var out: [Int] = []
        var k = 1
        while k < online { out.append(k); k *= 2 }
        out.append(online)
        return out
    }

    func counts() -> [Int]? {
        guard let cpus else { return Self.defaultCounts(online: HostIdentity.onlineCPUs().count) }
        let v = cpus.split(separator: ",").map { Int($0) }
        guard v.allSatisfy({ $0 != nil }) else { return nil }
        return v.compactMap { $0 }
    }

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the workload after --, e.g. xprof sweep -- ./bench --threads {cpus}") }
        let online = HostIdentity.onlineCPUs().count
        guard let ks = counts() else { throw ValidationError("--cpus expects comma-separated counts, e.g. 1,2,4, not '\(cpus ?? "")'") }
        guard ks.count >= 2 else {
            throw ValidationError("a sweep needs at least two CPU counts (this machine has \(online) online CPU\(online == 1 ? "" : "s"); give --cpus)")
        }
        for k in ks where k < 1 || k > online {
            throw ValidationError("--cpus: \(k) is not between 1 and the \(online) online CPUs")
        }
        guard Set(ks).count == ks.count else { throw ValidationError("--cpus lists a count twice") }
        guard (frequency.hertz ?? 1) <= 100_000 else { throw ValidationError("-F must be between 1 and 100000, or max") }
        if options.format == .foldedDiff { throw ValidationError("--format folded-diff compares two profiles: use xprof diff") }
    }

    func run() throws {
        if let svg { checkOutputWritable(svg, option: "--svg") }
        guard let ks = counts() else { return }
        if mkdir(output, 0o755) != 0 && errno != EEXIST {
            fail(SampleIOError(.other, "cannot make the folder: \(String(cString: strerror(errno)))", path: output,
                               hint: "choose a writable place with -o"))
        }
        let online = HostIdentity.onlineCPUs()
        var files: [String] = []
        var seconds: [Double] = []
        for k in ks {
            var o = RecordOptions(target: .command(command.map { Self.substitute($0, count: k) }))
            let set = Array(online.prefix(k))
            o.cpus = set
            o.commandCPUs = set
            o.frequency = frequency.resolved
            o.callchains = g
            o.output = output + "/run-\(k)cpu.xprof"
            printError("recording at \(k) CPU\(k == 1 ? "" : "s") (\(set.map(String.init).joined(separator: ","))) to \(o.output)")
            let summary = runReporting { try Recorder.record(o) { printError("note: " + $0) } }
            if let status = summary.commandStatus, status != 0 {
                fail(SampleIOError(.other, "the workload exited with status \(status) at \(k) CPUs",
                                   hint: "run it by hand at that count (taskset -c \(set.map(String.init).joined(separator: ",")) …) to see why"))
            }
            printError("  \(summary.samples) samples in \(String(format1: summary.duration)) s"
                       + (summary.lost > 0 ? ", \(summary.lost) lost" : ""))
            files.append(o.output)
            seconds.append(summary.duration)
        }
        let reports = files.map { options.build($0) { $0.top = nil } }
        let analysis = ScalingAnalysis(reports: reports, cpus: ks, throughput: fixedWork ? seconds.map { $0 > 0 ? 1 / $0 : 0 } : nil)
        if options.format == .html {
            HtmlOutput.writeScalePage(analysis, selection: options, svg: svg)
        } else {
            ScaleCommand.emit(analysis, format: options.format.rows ?? .table, top: options.top, svg: svg)
        }
    }
}
