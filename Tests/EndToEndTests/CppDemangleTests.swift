import Foundation
import Testing

/// C++ programs: names demangled as perf shows them (libiberty, no parameter lists), mangled with
/// --no-demangle as nm lists them.
@Suite(.serialized) struct CppDemangleTests {
    static let source = """
    #include <cstdint>
    #include <cstdio>
    #include <cstdlib>
    #include <map>
    namespace xprof { namespace demo {
    template <typename T> struct Acc {
        __attribute__((noinline)) T spin(T x, long n) { for (long i = 0; i < n; i++) x = x * 6364136223846793005ull + 1442695040888963407ull; return x; }
    };
    __attribute__((noinline)) uint64_t work(uint64_t x, long n) { Acc<uint64_t> a; return a.spin(x, n); }
    __attribute__((noinline)) double work(double x, long n) { for (long i = 0; i < n; i++) x = x * 1.0000001 + 0.5; return x; }
    struct Tree {
        std::map<long, long> m;
        __attribute__((noinline)) long fill(long n) { for (long i = 0; i < n; i++) m[(i * 7919) % 100003] += i; return (long)m.size(); }
    };
    } }
    // Two names at one address (an allocator shim's free/operator delete): perf compares them demangled,
    // so the C++ alias, with no leading underscore and the longer name, names the function.
    extern "C" __attribute__((noinline)) unsigned long shim(unsigned long x, long n) { for (long i = 0; i < n; i++) x = x * 2862933555777941757ull + 3037000493ull; return x; }
    namespace xprof { unsigned long aliased_by_a_longer_name(unsigned long, long) __attribute__((alias("shim"))); }
    int main(int argc, char **argv) {
        long rounds = (long)((argc > 1 ? atof(argv[1]) : 1) * 40);
        uint64_t x = 1; double y = 1; long z = 0;
        for (long r = 0; r < rounds; r++) {
            x = xprof::demo::work(x, 2000000);
            y = xprof::demo::work(y, 1000000);
            xprof::demo::Tree t; z += t.fill(20000);
            x = shim(x, 1500000);
        }
        printf("%llu %f %ld\\n", (unsigned long long)x, y, z);
        return 0;
    }
    """

    /// The program, built with g++ -O2 -g, and a perf recording of it.
    static let recording: (binary: String, data: String)? = {
        guard let dir = try? XprofRunner.temporaryDirectory() else { return nil }
        let src = dir.appendingPathComponent("d.cpp"), bin = dir.appendingPathComponent("d").path
        guard (try? source.write(to: src, atomically: true, encoding: .utf8)) != nil,
              let cc = try? XprofRunner.run("/usr/bin/g++", ["-O2", "-g", "-o", bin, src.path]), cc.status == 0 else { return nil }
        let data = dir.appendingPathComponent("perf.data").path
        guard let r = try? XprofRunner.perfRecord(["-e", "cpu-clock", "-F", "1999", "-o", data, "--", bin, "1"]), r.status == 0 else { return nil }
        return (bin, data)
    }()

    @Test func namesAreDemangledAsPerfShowsThem() throws {
        guard let (bin, data) = Self.recording else {
            if XprofRunner.underCI { Issue.record("g++ or perf record failed under CI=true") }
            return
        }
        let perf = try PerfRecordAgreementTests.perfRows(data)
        #expect(perf.contains { $0.2 == "xprof::demo::Acc<unsigned long>::spin" }, "\(perf.prefix(5))")
        #expect(perf.contains { $0.2 == "xprof::aliased_by_a_longer_name" }, "\(perf.prefix(5))")
        let x = try XprofRunner.xprof(["report", data, "--sort", "dso,sym", "--format", "csv"])
        #expect(x.status == 0, "\(x.stderr)")
        var got: [String: Double] = [:]
        for line in x.stdout.split(separator: "\n").dropFirst() {
            // The symbol may hold commas (template arguments), and is then quoted.
            let f = XprofRunner.csvFields(line)
            got["\(f[2])|\(f[3])"] = Double(f[0])
        }
        for (pct, dso, sym) in perf.prefix(10) {
            let g = got["\(dso)|\(sym)"]
            #expect(g != nil, "perf's row \(dso) \(sym) (\(pct)%) is missing from xprof's report: \(got.keys.sorted().prefix(8))")
            if let g { #expect(abs(g - pct) <= 0.01, "\(dso) \(sym): xprof \(g)% vs perf \(pct)%") }
        }

        // --no-demangle: the symbol table's own names, which nm lists.
        let nm = try XprofRunner.run("/usr/bin/nm", [bin])
        let mangled = Set(nm.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) })
        let raw = try XprofRunner.xprof(["report", data, "--sort", "dso,sym", "--format", "csv", "--no-demangle", "--dsos", "d"])
        let names = raw.stdout.split(separator: "\n").dropFirst().map { String($0.split(separator: ",", maxSplits: 3)[3]) }
        #expect(names.contains { $0.hasPrefix("_ZN5xprof4demo3AccImE4spinEml") }, "\(names.prefix(5))")  // (gcc may add .isra.0)
        for n in names where !n.hasPrefix("[unknown]") {
            // A PLT stub is named after the symbol it calls (nm lists that one with its version).
            let known = n.hasSuffix("@plt") ? mangled.contains { $0.hasPrefix(n.dropLast(4) + "@") } : mangled.contains(n)
            #expect(known, "\(n) is not a symbol nm lists")
        }

        // symbolize -C: the names c++filt -p (no parameter lists) gives nm's mangled names, at each function.
        let funcs = nm.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
            let f = line.split(separator: " ")
            return f.count == 3 && "tT".contains(f[1]) && f[2].hasPrefix("_Z") ? ("0x" + f[0], String(f[2])) : nil
        }
        #expect(funcs.count >= 4, "\(nm.stdout.prefix(400))")
        let filt = try XprofRunner.run("/usr/bin/c++filt", ["-p"] + funcs.map(\.1))
        let want = filt.stdout.split(separator: "\n").map(String.init)
        let sym = try XprofRunner.xprof(["symbolize", "-C", "--image", bin] + funcs.map(\.0))
        #expect(sym.status == 0, "\(sym.stderr)")
        let named = sym.stdout.split(separator: "\n").map { String($0.split(separator: "\t")[1]) }
        #expect(named == want, "symbolize -C \(named.prefix(4)) vs c++filt -p \(want.prefix(4))")

        // script's frames as perf script's.
        let ps = try XprofRunner.run("/usr/bin/perf", ["script", "-i", data, "-F", "tid,time,ip,sym,dso"])
        let xs = try XprofRunner.xprof(["script", data, "-F", "tid,time,ip,sym,dso"])
        let squeeze = { (t: String) in t.split(separator: "\n").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") } }
        #expect(squeeze(xs.stdout) == squeeze(ps.stdout))
    }
}
