import Foundation
import Testing
import SymbolMap

/// The demangler against binutils' c++filt (the same libiberty; `-p`: no parameter lists; names on stdin, as
/// c++filt keeps a `@version` suffix there). c++filt demangles verbosely (DMGL_VERBOSE), perf does not: a
/// legacy Rust name loses its `::h<hash>` and a v0 name its crate disambiguators `[…]`.
@Suite struct DemanglerTests {
    static let names = [
        "_ZNSt6vectorIiSaIiEE9push_backERKi@@GLIBCXX_3.4",
        "_ZN5xprof4demo3AccImE4spinEml.isra.0",
        "_ZNKSt8__detail20_Prime_rehash_policy14_M_need_rehashEmmm",
        "_ZZ4mainENKUliE_clEi",
        "_ZN3foo3bar17h05af221e174051e9E",
        "_ZN4core3fmt5write17h0123456789abcdefE",
        "_RNvCs15kBYyAo9fc_7mycrate7example",
        "_RNvMs_NtCs4fqI2P2rA04_11utf8_decode7decoderNtB4_7Decoder3new",
        "_Z1fv",
        "_Z3maxIiET_S0_S0_@plt",
    ]

    @Test func namesAgreeWithCxxfilt() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/c++filt")
        p.arguments = ["-p"]
        let out = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardInput = input
        try p.run()
        input.fileHandleForWriting.write(Data((Self.names.joined(separator: "\n") + "\n").utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let want = text.split(separator: "\n").map(String.init)
        #expect(want.count == Self.names.count)
        for (name, filt) in zip(Self.names, want) {
            var expected = filt
            // perf's rust_demangle_sym: legacy Rust names without the trailing hash element.
            if name.hasSuffix("E"), name.hasPrefix("_ZN"), let r = expected.range(of: "::h", options: .backwards),
               expected.distance(from: r.upperBound, to: expected.endIndex) == 16 {
                expected = String(expected[..<r.lowerBound])
            }
            if name.hasPrefix("_R") { expected = expected.replacing(/\[[0-9a-f]+\]/, with: "") }
            #expect(Demangler.demangle(name) == expected, "\(name): \(Demangler.demangle(name) ?? "nil") vs \(expected)")
        }
        #expect(Demangler.demangle("main") == nil)
        #expect(Demangler.demangle("$s4main3fooyyF") == nil, "Swift names stay as they are (perf does not demangle them)")
        #expect(Demangler.demangle("_Znot_a_name") == nil)
    }
}
