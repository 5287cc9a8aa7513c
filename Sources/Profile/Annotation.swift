import SampleIO

/// A rule for finding source files elsewhere than where DWARF says they were compiled (`--source-dir`).
///
/// `from` nil: look under `to` — for the whole path, then for its trailing components (the longest
/// first, the base name last), as pprof's `-source_path` does. `from` set: replace that leading part of
/// the path by `to` (gdb's `set substitute-path`).
public struct SourcePathRule: Sendable, Equatable {
    /// The leading part of DWARF's path to replace (`OLD` of `OLD=NEW`); nil: search under ``to``.
    public var from: String?
    /// The folder to look in, or what replaces ``from``; never empty.
    public var to: String

    /// A rule; `from` nil searches under `to`, else `from` is replaced by `to`.
    public init(from: String? = nil, to: String) {
        self.from = from
        self.to = to
    }

    /// Parses `DIR` or `OLD=NEW`; nil for an empty directory.
    public init?(argument: String) {
        if let eq = argument.firstIndex(of: "="), eq != argument.startIndex {
            let old = String(argument[..<eq]), new = String(argument[argument.index(after: eq)...])
            guard !new.isEmpty else { return nil }
            self.init(from: old, to: new)
        } else {
            guard !argument.isEmpty else { return nil }
            self.init(to: argument)
        }
    }
}

/// What `xprof annotate` shows.
public struct AnnotateOptions: Sendable {
    /// Functions to annotate by name (every image's function of that name); empty: the hottest ones.
    public var symbols: [String] = []
    /// Without `symbols`: how many of the hottest functions (by self samples).
    public var top = 3
    /// Which samples to annotate (``SampleSelection``); without an event, the first when the recording has
    /// several, else the one.
    public var selection = SampleSelection()
    /// Where symbols come from (`--xen`, `--vmlinux`, `--symfs` …), as for `report`.
    public var symbolOptions = SymbolOptions()
    /// Where else to look for source files (`--source-dir`), tried in order before the DWARF path.
    public var sourceRules: [SourcePathRule] = []
    /// Lines without samples shown around each line with samples.
    public var context = 3
    /// Also disassemble each function with objdump (`--asm`).
    public var disassemble = false
    /// The disassembler: a path, or a name looked up in `PATH`.
    public var objdump = "objdump"

    /// Annotate the 3 hottest functions with 3 lines of context, no disassembly.
    public init() {}
}

/// Samples and event period.
public struct SampleTally: Sendable, Equatable {
    /// How many samples (a merged sample counts as the ``Sample/count`` it stands for).
    public var samples: UInt64 = 0
    /// The summed event period of those samples (the event's unit: nanoseconds for `cpu-clock`, else events).
    public var period: UInt64 = 0

    /// A tally of `samples` and `period`.
    public init(samples: UInt64 = 0, period: UInt64 = 0) {
        self.samples = samples
        self.period = period
    }

    mutating func add(_ t: SampleTally) {
        samples += t.samples
        period &+= t.period
    }
}

/// Samples in code inlined into an annotated function, at the innermost source line they ran.
public struct InlinedSite: Sendable, Equatable {
    /// The inlined function the line belongs to (the innermost frame).
    public var function: String
    /// Inlined functions between the annotated one and `function`, outermost first (for nested inlining).
    public var via: [String]
    /// The full path DWARF gives, and the line.
    public var file: String
    /// Line number in `file` (1-based), from the DWARF line table.
    public var line: Int
    /// Samples whose innermost inlined frame is at this line.
    public var tally: SampleTally
    /// The line's text when its file was found.
    public var text: String?
}

/// One row of an annotated source file: a line with samples, or one shown for context (`tally` zero).
public struct AnnotatedLine: Sendable, Equatable {
    /// Line number (1-based) in the file.
    public var line: Int
    /// Samples whose address maps to this line of the function's own source: its own code and the code
    /// inlined by calls made on this line.
    public var tally: SampleTally
    /// The part of `tally` that ran in inlined code, by the inlined line it ran (largest first).
    public var inlined: [InlinedSite] = []
    /// The source text; nil when the file was not found or is shorter than the line number.
    public var text: String?
    /// True when lines were left out before this one (text output prints `...`).
    public var gapBefore = false
}

/// One source file of an annotated function (usually there is one; code from headers adds more).
public struct AnnotatedFile: Sendable, Equatable {
    /// The path DWARF gives (the compilation directory joined with the file's name).
    public var path: String
    /// Where it was read from; nil when not found.
    public var foundAt: String?
    /// Lines of the file (0 when not found).
    public var lineCount = 0
    /// The sum of the file's line tallies: samples whose address maps to a line of this file.
    public var tally = SampleTally()
    /// The lines with samples, and around them (when the file was found) up to `context` lines without.
    public var lines: [AnnotatedLine] = []
    /// When the file was not found: which paths were tried and how to point xprof at it.
    public var note: String?
}

/// Samples of one address of a function.
public struct AddressCount: Sendable, Equatable {
    /// In the image's own address space (the ELF virtual address; runtime address for kallsyms).
    public var address: UInt64
    /// Samples at this address (self samples of the function).
    public var tally: SampleTally
    /// The function's own source line the address maps to (the inlined call's line for inlined code).
    public var file: String?
    /// Line in `file`; nil when the address has no line information.
    public var line: Int?
}

/// One instruction of a function's disassembly with its samples.
public struct AnnotatedInstruction: Sendable, Equatable {
    /// Address in the image's address space (as ``AddressCount/address``), as objdump prints it.
    public var address: UInt64
    /// objdump's text of the instruction (mnemonic and operands).
    public var text: String
    /// Samples at this instruction's address; zero for instructions without samples.
    public var tally: SampleTally
    /// The function's own source line of the instruction (the inlined call's for inlined code), when known.
    public var file: String? = nil
    /// Line in `file`; nil when unknown.
    public var line: Int? = nil
}

/// One annotated function.
public struct AnnotatedFunction: Sendable, Equatable {
    /// The function's name as reports show it (demangled unless `--no-demangle`).
    public var symbol: String
    /// The image name as reports show it (`fixture`, `[kernel.kallsyms]`, `xen-syms-4.17-amd64`).
    public var image: String
    /// The ELF file read for symbols and DWARF; nil for kallsyms and System.map.
    public var imagePath: String?
    /// The function's start and size in the image's address space, when known.
    public var start: UInt64?
    /// The function's size in bytes from the symbol table; 0 when unknown (no disassembly then).
    public var size: UInt64 = 0
    /// Self samples of the function.
    public var tally: SampleTally
    /// Source files, the one with the most samples first.
    public var files: [AnnotatedFile] = []
    /// Samples at addresses with no line information (shown as the `??` row).
    public var unknownLines = SampleTally()
    /// Functions inlined into this one that received samples, by samples.
    public var inlinedCallees: [(name: String, tally: SampleTally)] = []
    /// Every address with samples, ascending.
    public var addresses: [AddressCount] = []
    /// Why there are no source lines (no DWARF), if so.
    public var note: String?
    /// The disassembly with `--asm` (empty when it could not be made: see `asmNote`).
    public var instructions: [AnnotatedInstruction] = []
    /// Why there is no disassembly, or a caveat about it (samples at addresses objdump did not list); nil when
    /// there is nothing to say.
    public var asmNote: String?

    /// Compares every field (``inlinedCallees`` by name and tally, as tuples are not Equatable).
    public static func == (a: AnnotatedFunction, b: AnnotatedFunction) -> Bool {
        a.symbol == b.symbol && a.image == b.image && a.imagePath == b.imagePath && a.start == b.start && a.size == b.size
            && a.tally == b.tally && a.files == b.files && a.unknownLines == b.unknownLines
            && a.inlinedCallees.map(\.name) == b.inlinedCallees.map(\.name)
            && a.inlinedCallees.map(\.tally) == b.inlinedCallees.map(\.tally)
            && a.addresses == b.addresses && a.note == b.note && a.instructions == b.instructions && a.asmNote == b.asmNote
    }
}

/// A `--symbol` name no function with samples has, with the names closest to it.
public struct UnknownSymbol: Sendable, Equatable {
    /// The name as given to `--symbol`.
    public var name: String
    /// Up to 5 names of functions with samples that contain it, are contained in it or are a few edits from it,
    /// nearest first; empty when none is close.
    public var closeMatches: [String]
}

/// The result of `xprof annotate`: the selected functions' samples per source line (and address).
public struct Annotation: Sendable {
    /// The input file's path as given on the command line.
    public var source: String
    /// The input's metadata (host, events …; shown in the header).
    public var metadata: RunMetadata
    /// The event annotated, when the recording names it.
    public var event: String?
    /// Samples and period of everything the filters kept (the 100 % of the "of total" shares).
    public var total = SampleTally()
    /// The annotated functions: those named by `--symbol`, else the `top` hottest, hottest first.
    public var functions: [AnnotatedFunction] = []
    /// `--symbol` names that matched no function with samples.
    public var unknownSymbols: [UnknownSymbol] = []
    /// The functions with samples, hottest first (for messages): name and image.
    public var hottest: [(symbol: String, image: String)] = []
    /// Problems with symbol sources, and notes about the selection.
    public var warnings: [String] = []
    /// Lines of context shown around lines with samples (``AnnotateOptions/context``).
    public var context = 3
    /// The selection's filters in words (``SampleSelection``'s description); empty without filters.
    public var filterDescription = ""
}
