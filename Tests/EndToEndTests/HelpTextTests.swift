import Foundation
import Testing

/// Help reads well in an 80-column terminal: paragraphs wrap as whole paragraphs (no line over 80 columns,
/// no sentence broken where the source was), no type names as defaults, no bare single-letter placeholders;
/// completion scripts are generated.
@Suite struct HelpTextTests {
    static let commands = ["record", "report", "script", "annotate", "info", "convert", "symbolize", "diff", "scale", "sweep",
                           "overhead", "export", "vmstat"]

    @Test(arguments: commands) func helpFitsEightyColumns(_ command: String) throws {
        let r = try XprofRunner.xprof(["help", command], environment: ["COLUMNS": "80"])
        #expect(r.status == 0, "\(r.stderr)")
        for line in r.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
            #expect(line.count <= 80, "\(command): \(line.count) columns: \(line)")
            #expect(line.range(of: #"\(default( as flag)?: [A-Z][A-Za-z]+\("#, options: .regularExpression) == nil, "\(command): a type as default: \(line)")
            #expect(line.range(of: #"<[A-Za-z]>"#, options: .regularExpression) == nil, "\(command): a one-letter placeholder: \(line)")
        }
        // A paragraph of the discussion is one paragraph: no line of it ends a few words after a break the
        // source had (the overview's lines are at least 40 columns unless they end a sentence or a paragraph).
        let text = r.stdout.components(separatedBy: "USAGE:").first ?? ""
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (i, line) in lines.enumerated() where i + 1 < lines.count && !lines[i + 1].isEmpty && !line.isEmpty {
            let ends = [".", ":", ")", ";"].contains { line.hasSuffix($0) }
            #expect(line.count >= 40 || ends || lines[i + 1].first?.isLowercase == false, "\(command): a short line inside a paragraph: \(line)")
        }
    }

    @Test func unknownHelpTopicFails() throws {
        let r = try XprofRunner.xprof(["help", "no-such-command"])
        #expect(r.status == 64, "\(r.stderr)")
    }

    @Test(arguments: ["bash", "zsh", "fish"]) func completionScripts(_ shell: String) throws {
        let r = try XprofRunner.xprof(["--generate-completion-script", shell])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("record") && r.stdout.contains("report") && r.stdout.contains("vmstat"), "\(r.stdout.prefix(300))")
    }
}
