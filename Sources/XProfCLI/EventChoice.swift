import ArgumentParser
import Profile
import SampleIO

/// Which event of a recording a command looks at.
public enum EventChoice {
    /// `name` (`--event`) as an index into `metadata`'s events; nil without it. With `firstWhenSeveral`, a
    /// recording of several events and no `--event` gives its first event, with a note on stderr saying so
    /// (adding up samples of different events — clock time and page faults, say — means nothing in a
    /// comparison or a flame graph).
    public static func resolve(_ name: String?, in metadata: RunMetadata, path: String,
                               firstWhenSeveral: Bool = false) throws -> UInt16? {
        let events = metadata.events
        guard let name else {
            guard firstWhenSeveral, events.count > 1 else { return nil }
            let others = events.dropFirst().map { "'\($0.name)'" }.joined(separator: ", ")
            printError("note: \(path) has \(events.count) events; using the first, '\(events[0].name)' (--event NAME for \(others))")
            return 0
        }
        guard let i = ReportOptions.eventIndex(name, in: events) else {
            let names = events.enumerated().map { "\($0.offset) \($0.element.name)" }.joined(separator: ", ")
            throw ValidationError("--event \(name): \(path) has no such event; its events are \(names.isEmpty ? "none" : names)")
        }
        return i
    }
}
