import ArgumentParser
import XProfCLI
import SampleIO
import Recording
#if canImport(Glibc)
import Glibc
#endif

struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Sample this machine with perf_event_open and write a .xprof file.",
        usage: "xprof record [<options>] [-- <command> ...]",
        discussion: """
        Samples a command (`xprof record -- CMD ARGS`, following its children), an existing process (-p PID, \
        until it exits) or every CPU (-a; with a command, `-a -- sleep 5`, for as long as the command runs). By default (-e auto) it prefers the hardware cycles event and falls back to the \
        software cpu-clock event where hardware counters are unavailable. -e takes perf's generic events, \
        several at once (-e cpu-clock,page-faults,context-switches), with perf's modifiers :u (user only), \
        :k (kernel only) and :p/:pp/:ppp (precise IPs); reports then show one section per event.
        Events: \(RecordOptions.Event.knownNames). \
        Samples reach the file as they are taken (at least twice a second), so a recorder that is killed \
        keeps all but its last second. SIGINT/SIGTERM/SIGHUP end the recording cleanly; a full disk, the \
        file size limit (ulimit -f) or an I/O error end it with an error (exit 1) and a file readable up to \
        its last complete chunk. A previous FILE is kept as FILE.old. The exit status is the command's own \
        when it fails, 127 when it cannot be executed (checked before FILE is touched).
        """
    )

    @Option(name: .customShort("F"), help: ArgumentHelp(SamplingRate.help + "; per event; default 997.", valueName: "hz|max"))
    var frequency: SamplingRate?

    @Option(name: .customShort("c"), help: ArgumentHelp("Sample every N events instead (a fixed period; not with -F).", valueName: "events"))
    var count: UInt64?

    @Flag(name: .short, help: "Sample every CPU (system-wide).")
    var all = false

    @Option(name: .short, help: ArgumentHelp("Sample an existing process and its threads, until it exits.", valueName: "pid"))
    var pid: Int32?

    @Option(name: .customShort("C"), help: ArgumentHelp("CPUs to sample, e.g. 0-3,6 (default: all online).", valueName: "cpus"))
    var cpus: String?

    @Flag(name: .short, help: "Record callchains.")
    var g = false

    @Option(name: .short, help: ArgumentHelp("Output file.", valueName: "file"))
    var output: String = "xprof.data.xprof"

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @Option(name: [.customShort("e"), .long], help: "Events, comma-separated: auto (cycles, else cpu-clock), cycles, cpu-clock, page-faults, context-switches … (see above); modifiers :u :k :p.")
    var event: String = "auto"

    @Option(help: "Ring buffer pages per CPU (a power of two).")
    var ringPages: Int = 128

    @Argument(parsing: .postTerminator, help: "The command to run and sample.")
    var command: [String] = []

    func validate() throws {
        // perf's idiom `-a -- sleep 5`: every CPU while the command runs.
        let targets = (all ? 1 : 0) + (pid != nil ? 1 : 0) + (command.isEmpty || all ? 0 : 1)
        guard targets == 1 else {
            throw ValidationError("give exactly one of -a [-- CMD ARGS], -p PID or -- CMD ARGS")
        }
        if let f = frequency?.hertz, f > 100_000 { throw ValidationError("-F must be between 1 and 100000, or max") }
        if frequency != nil, count != nil { throw ValidationError("give -F (samples a second) or -c (events a sample), not both") }
        guard ringPages > 0, ringPages & (ringPages - 1) == 0 else { throw ValidationError("--ring-pages must be a power of two") }
        if case .failure(let e) = RecordOptions.Event.parseList(event) { throw ValidationError("--event \(event): \(e.reason)") }
        if let count, count == 0 { throw ValidationError("-c must be at least 1") }
        if let d = duration, !(d > 0) { throw ValidationError("--duration must be positive") }
        if let cpus, CPUList.parse(cpus) == nil { throw ValidationError("-C: cannot read CPU list '\(cpus)'; expected e.g. 0-3,6") }
    }

    func run() throws {
        if let first = command.first, let problem = Recorder.executableProblem(first) {
            printError("error: cannot run the command '\(first)': \(problem)\n  hint: check the command's name, its path and that it is executable")
            Glibc.exit(127)
        }
        var opts: RecordOptions
        if all {
            opts = RecordOptions(target: .systemWide)
            opts.whileCommand = command
        } else if let pid {
            opts = RecordOptions(target: .process(pid))
        } else {
            opts = RecordOptions(target: .command(command))
        }
        opts.frequency = frequency?.resolved ?? 997
        opts.callchains = g
        opts.output = output
        opts.duration = duration
        if case .success(let events) = RecordOptions.Event.parseList(event) { opts.events = events }
        opts.period = count
        opts.ringPages = ringPages
        if let cpus { opts.cpus = CPUList.parse(cpus) }
        // -e auto's expected fallback on machines without counters (most VMs) is said in the summary line, not
        // as a note on every run.
        let fallback = "hardware event 'cycles' is not available here"
        var fellBack = false
        let summary = runReporting {
            try Recorder.record(opts) { n in
                if n.hasPrefix(fallback), event == "auto" { fellBack = true } else { printError("note: " + n) }
            }
        }
        printError("recorded \(summary.samples) samples of \(summary.event)" + (fellBack ? " (no hardware cycles here)" : "")
                   + " in \(String(format1: summary.duration)) s"
                   + (summary.lost > 0 ? ", \(summary.lost) lost" : "") + " to \(summary.output)")
        if let status = summary.commandStatus, status != 0, !summary.commandEndedByRecorder {
            // perf's rule: a failing command makes the recording fail with the command's status.
            printError("error: the command exited with status \(status)")
            Glibc.exit(status)
        }
    }
}

extension String {
    init(format1 v: Double) {
        let r = (v * 100).rounded() / 100
        self = String(r)
    }
}
