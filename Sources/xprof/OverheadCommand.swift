import ArgumentParser
import XProfCLI
import Profile
import SampleIO
#if canImport(Glibc)
import Glibc
#endif

struct OverheadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overhead",
        abstract: "Measure how much profiling slows a command down: runs it plain and under the profiler(s), interleaved.",
        discussion: """
        After one unmeasured warm-up run, each round runs the command without profiling, then under each profiler
        (xprof record, perf record), so slow drifts of the machine hit all alike. Wall time of each run includes the
        profiler's own start and finish. Reports mean, standard deviation, median and the overhead with a 95%
        confidence interval (Welch). With --max-overhead PCT the command exits 1 when an overhead exceeds PCT.
        With --svg FILE the runs are also drawn: every run's wall time per configuration, each mean and the 95%
        confidence interval of each mean.
        """
    )

    @Option(help: "Measured runs per configuration.") var runs: Int = 5
    @Option(name: .customShort("F"), help: "Sampling frequency of the profiled runs.") var frequency: UInt64 = 997
    @Option(help: "Profiler(s) to measure: xprof, perf or both.") var profiler: String = "xprof"
    @Option(name: .customLong("max-overhead"), help: "Fail (exit 1) when a profiler's overhead exceeds this percentage.")
    var maxOverhead: Double?
    @Option(help: "Output format: table, csv or json.") var format: String = "table"
    @Option(help: ArgumentHelp("Also draw every run's wall time, the means and their 95% intervals as an SVG chart.", valueName: "FILE"))
    var svg: String?
    @Flag(help: "Show the command's own output.") var showOutput = false
    @Argument(parsing: .postTerminator, help: "The command to measure.") var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the command after --") }
        guard runs >= 2, runs <= 1000 else { throw ValidationError("--runs must be 2…1000") }
        guard ["xprof", "perf", "both"].contains(profiler) else { throw ValidationError("--profiler must be xprof, perf or both") }
        guard ReportFormat(rawValue: format) != nil else { throw ValidationError("--format must be table, csv or json") }
        guard frequency > 0 else { throw ValidationError("-F must be positive") }
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
        if profiler != "perf" {
            configs.append(("xprof", [selfExe, "record", "-F", String(frequency), "-o", tmp + ".xprof", "--"] + command))
        }
        if profiler != "xprof" {
            configs.append(("perf", ["perf", "record", "-q", "-e", "cpu-clock", "-F", String(frequency), "-o", tmp + ".perf.data", "--"] + command))
        }
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
                for (k, c) in configs.enumerated() {
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
        let estimates = configs.enumerated().map { k, c in OverheadEstimate(profiler: c.0, baseline: baseline, profiled: timings[k]) }
        writeStandardOutput(OverheadRenderer.render(estimates, command: command, frequency: frequency,
                                                    format: ReportFormat(rawValue: format) ?? .table))
        if let svg { writeOutput(OverheadChart.render(estimates, command: command, frequency: frequency), to: svg, option: "--svg") }
        if let limit = maxOverhead {
            let bad = estimates.filter { $0.percent > limit }
            for e in bad {
                printError("overhead: \(e.profiler) slowed the command by \(ReportRenderer.pct(e.percent))% (limit \(limit)%)")
            }
            if !bad.isEmpty { throw ExitCode(1) }
        }
    }

    private func readLink(_ path: String) throws -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buf, buf.count - 1)
        guard n > 0 else { throw ExitCode(1) }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
