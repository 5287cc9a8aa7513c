// swift-tools-version:6.1
import PackageDescription

let hotLoops: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "xprof",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "xprof", targets: ["xprof"]),
        .executable(name: "xprof-pprof", targets: ["xprof-pprof"]),
        .executable(name: "xprof-workload", targets: ["xprof-workload"]),
        .library(name: "SampleIO", targets: ["SampleIO"]),
        .library(name: "SymbolMap", targets: ["SymbolMap"]),
        .library(name: "Profile", targets: ["Profile"]),
        .library(name: "Render", targets: ["Render"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // C libraries from Debian's libelf-dev and libdw-dev; only SymbolMap imports this.
        .systemLibrary(name: "CElfUtils", path: "Sources/CElfUtils"),
        // What Swift cannot call directly: perf_event_open, ordered loads/stores of the perf ring
        // head/tail, zlib (crc32, deflate) and libzstd's streaming decoder.
        .target(
            name: "CPerfShim",
            path: "Sources/CPerfShim",
            linkerSettings: [.linkedLibrary("z"), .linkedLibrary("zstd")]
        ),
        // The per-sample loops of decoding and attribution: exclusivity is checked at compile time only.
        .target(name: "SampleIO", dependencies: ["CPerfShim"], swiftSettings: hotLoops),
        .target(name: "SymbolMap", dependencies: ["CElfUtils"]),
        // Live sampling through perf_event_open and the timed runs of experiments (docs/ARCHITECTURE.md, "Recording").
        .target(name: "Recording", dependencies: ["SampleIO", "CPerfShim"], swiftSettings: hotLoops),
        .target(name: "Profile", dependencies: ["SampleIO", "SymbolMap", "CPerfShim"], swiftSettings: hotLoops),
        // What views look like: text tables, CSV/JSON, SVG charts, HTML pages (docs/ARCHITECTURE.md, "The pipeline").
        .target(name: "Render", dependencies: ["Profile", "SampleIO", "SymbolMap"]),
        // What the command-line executables share: symbol options, exit codes, diagnostics.
        .target(
            name: "XProfCLI",
            dependencies: ["SampleIO", "Profile", "Render", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "xprof",
            dependencies: [
                "SampleIO", "SymbolMap", "Profile", "Render", "Recording", "XProfCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `xprof export --format pprof` runs this one: the protocol-buffer library stays out of `xprof`, whose
        // start-up it would slow (it tripled the binary). Generated code from proto/pprof.proto is committed.
        .executableTarget(
            name: "xprof-pprof",
            dependencies: [
                "SampleIO", "Profile", "XProfCLI", "CPerfShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // Bundled workloads (C) for demos, tests and benchmarks.
        .executableTarget(
            name: "xprof-workload",
            path: "Sources/xprof-workload",
            cSettings: [.unsafeFlags(["-O2", "-g", "-fno-omit-frame-pointer"])],
            linkerSettings: [.linkedLibrary("pthread")]
        ),
        // SYNTHETIC Xenoprof captures from a JSON description (tests, demo).
        .executableTarget(
            name: "xprof-scenario",
            dependencies: ["SampleIO", "SymbolMap", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // libFuzzer targets for the decoders (`make fuzz`); built normally, a replayer of fuzz inputs.
        .executableTarget(name: "xprof-fuzz", dependencies: ["SampleIO", "SymbolMap", "CPerfShim"]),
        .testTarget(name: "SampleIOTests", dependencies: ["SampleIO"]),
        .testTarget(name: "SymbolMapTests", dependencies: ["SymbolMap", "CElfUtils"]),
        .testTarget(name: "ProfileTests", dependencies: ["Profile", "Render", "SampleIO", "SymbolMap"]),
        .testTarget(name: "EndToEndTests", dependencies: ["SampleIO"]),
    ]
)
