#if canImport(Glibc)
import Glibc
#endif

/// Per-instruction counts for `xprof annotate --asm`, with GNU objdump as the disassembler: it runs
/// `objdump -d --no-show-raw-insn --start-address=S --stop-address=E IMAGE` and reads its instruction lines.
enum Disassembler {
    /// Fills `f.instructions` (or `f.asmNote` when it cannot).
    static func annotate(_ f: inout AnnotatedFunction, objdump: String) {
        guard let path = f.imagePath else {
            f.asmNote = "no ELF image for \(f.image) (symbols from a symbol map): nothing to disassemble"
            return
        }
        guard let start = f.start, f.size > 0 else {
            f.asmNote = "the size of \(f.symbol) in \(path) is unknown: nothing to disassemble"
            return
        }
        let args = [objdump, "-d", "--no-show-raw-insn", "--start-address=0x" + String(start, radix: 16),
                    "--stop-address=0x" + String(start &+ f.size, radix: 16), path]
        let result = run(args)
        switch result {
        case .notFound:
            f.asmNote = "\(objdump) not found: no disassembly (install GNU binutils, e.g. apt-get install binutils); the counts per address are in --format json"
            return
        case .failed(let why):
            f.asmNote = "\(args.joined(separator: " ")) failed: \(why)"
            return
        case .output(let text):
            f.instructions = parse(text)
        }
        if f.instructions.isEmpty {
            f.asmNote = "objdump listed no instructions of \(f.symbol) in \(path)"
            return
        }
        var byAddress: [UInt64: SampleTally] = [:]
        for a in f.addresses { byAddress[a.address, default: SampleTally()].add(a.tally) }
        for i in f.instructions.indices {
            if let t = byAddress.removeValue(forKey: f.instructions[i].address) { f.instructions[i].tally = t }
        }
        if !byAddress.isEmpty {
            let n = byAddress.values.reduce(0) { $0 + $1.samples }
            f.asmNote = "\(n) samples at \(byAddress.count) addresses that are not the start of an instruction objdump listed"
        }
    }

    /// Instruction lines of objdump's output: `  11b0:\tmov    %rsi,%rcx` (address, colon, tab, text).
    static func parse(_ text: String) -> [AnnotatedInstruction] {
        var out: [AnnotatedInstruction] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let head = line[..<colon].drop { $0 == " " }
            guard !head.isEmpty, head.allSatisfy(\.isHexDigit), let address = UInt64(head, radix: 16) else { continue }
            var rest = line[line.index(after: colon)...]
            guard rest.first == "\t" else { continue }
            rest = rest.dropFirst()
            let body = String(rest).replacingTabs()
            guard !body.isEmpty else { continue }
            out.append(AnnotatedInstruction(address: address, text: body, tally: SampleTally()))
        }
        return out
    }

    enum RunResult {
        case output(String)
        case notFound
        case failed(String)
    }

    /// Runs `argv` (looked up in PATH) and returns its standard output; its standard error is dropped.
    static func run(_ argv: [String]) -> RunResult {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return .failed("pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cargs.append(nil)
        defer { for p in cargs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, cargs, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            return rc == ENOENT ? .notFound : .failed(String(cString: strerror(rc)))
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        close(fds[0])
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        // posix_spawnp reports a missing program through the child's exit status 127 on some C libraries.
        if st & 0x7f == 0, (st >> 8) & 0xff == 127, bytes.isEmpty { return .notFound }
        if st & 0x7f != 0 { return .failed("killed by signal \(st & 0x7f)") }
        if (st >> 8) & 0xff != 0 { return .failed("exit status \((st >> 8) & 0xff)") }
        return .output(String(decoding: bytes, as: UTF8.self))
    }
}

extension String {
    /// Tabs as single spaces (objdump separates mnemonic and operands with one).
    func replacingTabs() -> String {
        String(map { $0 == "\t" ? " " : $0 })
    }
}
