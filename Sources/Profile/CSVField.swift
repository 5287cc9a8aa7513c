/// CSV's quoting rule, shared by the streaming writers here (`script --format csv`) and the renderers
/// (module Render): a field holding a comma, a quote or a newline goes in quotes, its quotes doubled.
public enum CSV {
    /// `s` as one CSV field.
    public static func field(_ s: String) -> String {
        if s.contains(",") || s.contains("\"") || s.contains("\n") {
            return "\"" + s.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
        }
        return s
    }
}
