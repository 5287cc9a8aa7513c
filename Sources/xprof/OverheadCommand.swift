import ArgumentParser
import XProfCLI
import Profile
import Render
import SampleIO
import Recording
#if canImport(Glibc)
import Glibc
#endif

struct OverheadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overhead",
        abstract: "Measure how much profiling slows a command down: runs it plain and under the profiler(s), interleaved.",
        usage: "xprof overhead [<options>] -- <command> ...",
        discussion: """
        After one unmeasured warm-up run, each round runs the command without profiling, then under each profiler \
        (xprof record, perf record), so slow drifts of the machine hit all alike. Wall time of each run includes the \
        profiler's own start and finish. Reports mean, standard deviation, median and the overhead with a 95% \
        confidence interval (Welch), and splits it in two: the start-up cost (each round also times the profiler \
        around /bin/true, and /bin/true alone) and the steady-state overhead without it, which is what a longer \
        run pays. Both profilers sample the same event (-e, default cpu-clock), with callchains under -g. \
        With --max-overhead PCT the command exits 1 when an overhead is above PCT for sure (its whole 95% \
        interval above); when the interval holds PCT the result is inconclusive: a warning asks for more rounds \
        (--runs) and the exit status is 0. \
        With --svg FILE the runs are also drawn: every run's wall time per configuration, each mean and the 95% \
        confidence interval of each mean.
        """
    )

    @Option(help: "Measured runs per configuration.") var runs: Int = 5
    @Option(name: .customShort("F"), help: ArgumentHelp(SamplingRate.help + ", of the profiled runs.", valueName: "hz|max"))
    var rate = SamplingRate(hertz: 997)
    var frequency: UInt64 { rate.resolved }
    @Option(help: "Profiler(s) to measure: xprof, perf or both.") var profiler: String = "xprof"
    @Option(name: [.customShort("e"), .long], help: "Event both profilers sample (perf's name).") var event: String = "cpu-clock"
    @Flag(name: .customShort("g"), help: "Record callchains in the profiled runs.") var callchains = false
    @Option(name: .customLong("max-overhead"), help: "Fail (exit 1) when a profiler's overhead exceeds this percentage.")
    var maxOverhead: Double?
    @Option(help: "Output format: table, csv or json.") var format: ReportFormat = .table
    @Option(help: ArgumentHelp("Also draw every run's wall time, the means and their 95% intervals as an SVG chart.", valueName: "FILE"))
    var svg: String?
    @Flag(help: "Show the command's own output.") var showOutput = false
    @Argument(parsing: .postTerminator, help: "The command to measure.") var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the command after --") }
        guard runs >= 2, runs <= 1000 else { throw ValidationError("--runs must be 2…1000") }
        guard ["xprof", "perf", "both"].contains(profiler) else { throw ValidationError("--profiler must be xprof, perf or both") }
    }

    func run() throws {
        let selfExe = (try? readLink("/proc/self/exe")) ?? CommandLine.arguments[0]
        // The recordings go to a fresh private directory (a fixed /tmp name could be a planted symbolic link).
        let scratch: String
        do throws(Errno) { scratch = try SystemCalls.makeTemporaryDirectory(prefix: "xprof-overhead-") } catch {
            fail(SampleIOError(.other, "cannot create a temporary directory for the recordings: \(error)",
                               hint: "set TMPDIR to a writable directory"))
        }
        defer { SystemCalls.removeDirectory(scratch) }
        let tmp = scratch + "/run"
        var configs: [(String, [String])] = []
        let common = ["-e", event, "-F", String(frequency)] + (callchains ? ["-g"] : [])
        if profiler != "perf" {
            configs.append(("xprof", [selfExe, "record"] + common + ["-o", tmp + ".xprof", "--"]))
        }
        if profiler != "xprof" {
            configs.append(("perf", ["perf", "record", "-q"] + common + ["-o", tmp + ".perf.data", "--"]))
        }
        let nothing = ["/bin/true"]
        var startupPlain: [Double] = []
        var startupProfiled = Array(repeating: [Double](), count: configs.count)
        // The chart's file is created now: a path that cannot be written fails before minutes of measuring.
        if let svg { checkOutputWritable(svg, option: "--svg") }
        var baseline: [Double] = []
        var timings = Array(repeating: [Double](), count: configs.count)
        let progress = stderrIsTerminal
        runReporting {
            // Warm-up: caches, page cache, lazy binding.
            let warm = try CommandTimer.run(command, showOutput: showOutput)
            if warm.status != 0 { printError("note: the command exited with status \(warm.status)") }
            for round in 0..<runs {
                if progress { printError("round \(round + 1)/\(runs)") }
                baseline.append(try CommandTimer.run(command, showOutput: showOutput).seconds)
                // The fixed part: the profilers around a command that does nothing, and that command alone.
                startupPlain.append(try CommandTimer.run(nothing, showOutput: false).seconds)
                for (k, c) in configs.enumerated() {
                    let r = try CommandTimer.run(c.1 + nothing, showOutput: false)
                    if r.status == 0 { startupProfiled[k].append(r.seconds) }
                }
                for (k, c) in configs.enumerated() {
                    let c = (c.0, c.1 + command)
                    var r = try CommandTimer.run(c.1, showOutput: showOutput)
                    // A profiler killed by a signal (perf 6.1 sometimes aborts in its build-id pass on a busy
                    // machine, several times in a row under make test) measured nothing useful: that run is measured again,
                    // four times at most, with a note.
                    var again = 0
                    while r.status >= 128, again < 4 {
                        again += 1
                        printError("note: \(c.0) died with status \(r.status) in round \(round + 1); measuring that run again")
                        r = try CommandTimer.run(c.1, showOutput: showOutput)
                    }
                    if r.status != 0 {
                        throw SampleIOError(.other, "\(c.0) exited with status \(r.status) while profiling the command",
                                            hint: "run `\(c.1.joined(separator: " "))` by hand to see why")
                    }
                    timings[k].append(r.seconds)
                }
            }
        }
        let estimates = configs.enumerated().map { k, c in
            OverheadEstimate(profiler: c.0, baseline: baseline, profiled: timings[k], startupPlain: startupPlain, startupProfiled: startupProfiled[k])
        }
        writeStandardOutput(OverheadRenderer.render(estimates, command: command, frequency: frequency,
                                                    format: format))
        if let svg { writeOutput(OverheadChart.render(estimates, command: command, frequency: frequency), to: svg, option: "--svg") }
        if let limit = maxOverhead {
            // Gate on the interval, not the point estimate: a noisy +32 % of [-48 %, +112 %] proves nothing.
            let pct = ReportRenderer.pct
            var above = false
            for e in estimates {
                let interval = "95% interval [\(pct(e.low, 2))%, \(pct(e.high, 2))%]"
                switch e.verdict(limit: limit) {
                case .above:
                    above = true
                    printError("overhead: \(e.profiler) slowed the command by \(pct(e.percent, 2))% (\(interval), all above the limit of \(limit)%)")
                case .inconclusive:
                    printError("warning: overhead of \(e.profiler) inconclusive: \(pct(e.percent, 2))%, \(interval) holds the limit of \(limit)%; run more rounds (--runs) or a longer command")
                case .within:
                    break
                }
            }
            if above { throw ExitCode(1) }
        }
    }

    private func readLink(_ path: String) throws -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buf, buf.count - 1)
        guard n > 0 else { throw ExitCode(1) }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
