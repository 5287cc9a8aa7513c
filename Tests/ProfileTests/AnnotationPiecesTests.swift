import Testing
@testable import Profile

/// The pieces of `xprof annotate` that need no recording: `--source-dir` rules, the source reader's
/// candidates and line splitting, close matches of an unknown `--symbol`, objdump's lines.
@Suite struct AnnotationPiecesTests {
    @Test(arguments: [
        ("src", SourcePathRule(to: "src")),
        ("/old/tree=/new/tree", SourcePathRule(from: "/old/tree", to: "/new/tree")),
        ("=x", SourcePathRule(to: "=x")),
    ])
    func sourceDirArguments(_ argument: String, _ rule: SourcePathRule) {
        #expect(SourcePathRule(argument: argument) == rule)
    }

    @Test func emptySourceDirsAreRefused() {
        #expect(SourcePathRule(argument: "") == nil)
        #expect(SourcePathRule(argument: "/old=") == nil)
    }

    @Test func candidatesInOrder() {
        let r = SourceReader(rules: [SourcePathRule(from: "/build/x", to: "/home/me/x"), SourcePathRule(to: "/srv/src")],
                             symfs: "/root")
        #expect(r.candidates(for: "/build/x/lib/a.c") == [
            "/home/me/x/lib/a.c",
            "/srv/src/build/x/lib/a.c", "/srv/src/x/lib/a.c", "/srv/src/lib/a.c", "/srv/src/a.c",
            "/root/build/x/lib/a.c",
            "/build/x/lib/a.c",
        ])
        // A prefix matches whole components only.
        #expect(!r.candidates(for: "/build/xy/a.c").contains("/home/me/xy/a.c"))
        #expect(!r.candidates(for: "/build/xy/a.c").contains { $0.hasPrefix("/home/me") })
    }

    @Test func linesSplitLikeTheFile() {
        #expect(SourceReader.split(Array("a\r\n\tb\n\nc".utf8)) == ["a", "\tb", "", "c"])
        #expect(SourceReader.split(Array("a\n".utf8)) == ["a"])
        #expect(SourceReader.split([]) == [])
    }

    @Test func closeMatches() {
        let names = ["hot_loop", "hot_loop_2", "main", "memcpy", "__libc_start_call_main", "cold"]
        #expect(AnnotationBuilder.closeMatches(to: "hot_lop", in: names) == ["hot_loop"])
        #expect(AnnotationBuilder.closeMatches(to: "hot", in: names) == ["hot_loop", "hot_loop_2"])
        #expect(AnnotationBuilder.closeMatches(to: "memcopy", in: names).first == "memcpy")
        #expect(AnnotationBuilder.closeMatches(to: "xyzzy_frobnicate", in: names).isEmpty)
        #expect(AnnotationBuilder.editDistance(Array("kitten".utf8), Array("sitting".utf8)) == 3)
    }

    @Test func objdumpInstructionLines() {
        let text = """

            /tmp/f:     file format elf64-x86-64


            Disassembly of section .text:

            00000000000011b0 <hot_loop>:
                11b0:\tmov    %rsi,%rcx
                11c0:\tje     1240 <hot_loop+0x90>
                11ce:\txchg   %ax,%ax
            """
        let ins = Disassembler.parse(text)
        #expect(ins.map(\.address) == [0x11b0, 0x11c0, 0x11ce])
        #expect(ins.map(\.text) == ["mov    %rsi,%rcx", "je     1240 <hot_loop+0x90>", "xchg   %ax,%ax"])
    }
}
