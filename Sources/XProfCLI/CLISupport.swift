import ArgumentParser
import SampleIO
#if canImport(Glibc)
import Glibc
#endif

/// Exit codes (docs/ARCHITECTURE.md, "Errors and exit codes"): 0 ok, 64 usage, 65 bad input data, 66 missing
/// input, 77 permission, 1 other.
public enum ExitCodes {
    /// The exit code for an input error: 65 for data that cannot be read (bad, cut short, unsupported),
    /// 66 for a missing input, 77 for a permission refused, 1 otherwise.
    public static func code(for e: SampleIOError) -> Int32 {
        switch e.code {
        case .badData, .truncated, .unsupported: 65
        case .missingInput: 66
        case .permission: 77
        case .other: 1
        }
    }
}

/// Prints a library error as `xprof: error: …` on stderr and exits with its code.
public func fail(_ e: SampleIOError) -> Never {
    printError("error: \(e.description)")
    exit(ExitCodes.code(for: e))
}

/// Writes one diagnostic line to stderr, prefixed with `xprof: ` (an error writing it has nowhere to go).
public func printError(_ line: String) {
    var text = "xprof: " + line
    if !text.hasSuffix("\n") { text += "\n" }
    try? SystemCalls.writeAll(2, Array(text.utf8)[...])
}

/// Writes all of `bytes` to standard output. A write error (a full disk, `> /dev/full`, an I/O error) ends
/// the command with a message and exit 74 (EX_IOERR), never a silent success; a reader that went away
/// (`EPIPE`, with SIGPIPE ignored) ends it quietly with 0, as the default SIGPIPE would have ended it.
public func writeStandardOutput(_ bytes: [UInt8]) {
    do throws(Errno) {
        try SystemCalls.writeAll(1, bytes[...])
    } catch {
        if error == .brokenPipe { exit(0) }
        printError("error: cannot write to standard output: \(error)\n  hint: check the disk or file the output goes to (its space and size limit)")
        exit(74)
    }
}

/// Writes `text` to standard output as ``writeStandardOutput(_:)-([UInt8])`` does.
public func writeStandardOutput(_ text: String) {
    writeStandardOutput(Array(text.utf8))
}

/// Whether stderr is a terminal (progress only then).
public var stderrIsTerminal: Bool { isatty(2) != 0 }

/// Runs `body`, turning library errors into the documented exit codes.
public func runReporting<T>(_ body: () throws -> T) -> T {
    do {
        return try body()
    } catch let e as SampleIOError {
        fail(e)
    } catch let e as ValidationError {
        printError("error: \(e.message)")
        exit(64)
    } catch {
        printError("error: \(error)")
        exit(1)
    }
}

/// Writes a command's output file (`-o`, `--svg`), exiting with the file's name, why it failed and what to do.
/// Fails as ``writeOutput(_:to:option:)`` would when `path` cannot be written, before any work is done, and
/// leaves nothing behind: a file that did not exist is created and removed again.
public func checkOutputWritable(_ path: String, option: String) {
    if access(path, F_OK) == 0 {
        if access(path, W_OK) != 0 { writeOutput("", to: path, option: option) }  // fails, saying why
        return
    }
    writeOutput("", to: path, option: option)
    unlink(path)
}

/// Writes `text` to the file `path` (given with `option`, named in the error) through ``FileBytes/write(_:to:)``;
/// on failure prints "cannot write the OPTION file" with the cause and a hint, and exits with the error's code
/// (``ExitCodes/code(for:)``).
public func writeOutput(_ text: String, to path: String, option: String) {
    do throws(SampleIOError) {
        try FileBytes.write(Array(text.utf8), to: path)
    } catch {
        var e = error
        let why = e.message.hasPrefix("cannot create: ") ? String(e.message.dropFirst("cannot create: ".count)) : e.message
        e.message = "cannot write the \(option) file: " + why
        e.hint = "choose a writable path for \(option) (its folder must exist and allow writing)"
        fail(e)
    }
}
