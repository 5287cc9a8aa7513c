import ArgumentParser
import Profile

/// `--call-graph`'s value: `caller` or `callee`, or perf's comma-separated form (`graph,0.5,caller`, `caller,1`,
/// `none`): its tokens in any order, a number being the fold limit. Only words perf knows there are taken for
/// the option's value, so `--call-graph FILE` still reads FILE as the input; the words xprof does not draw
/// (`fractal`, `flat`, `address`, …) are kept to be refused with a clear message.
struct CallGraphArgument: ExpressibleByArgument, CustomStringConvertible {
    var order: CallGraphOrder = .caller
    var limit: Double?
    var none = false
    var unsupported: [String] = []
    var text = "caller"

    init() {}

    /// What help shows as the default (`defaultAsFlag` prints the value's description): the order's name,
    /// not the type's fields.
    var defaultValueDescription: String { text }
    var description: String { text }

    init?(argument: String) {
        text = argument
        let supported: Set<String> = ["graph", "function", "percent"]
        let known: Set<String> = ["fractal", "flat", "folded", "address", "branch", "period", "count", "callee", "caller", "none"]
        for token in argument.split(separator: ",").map(String.init) {
            if let n = Double(token) {
                if limit == nil { limit = n }  // perf's second number, the print limit, is not used
                continue
            }
            switch token {
            case "caller": order = .caller
            case "callee": order = .callee
            case "none": none = true
            case _ where supported.contains(token): break
            case _ where known.contains(token): unsupported.append(token)
            default: return nil
            }
        }
        if let limit, !(limit >= 0 && limit <= 100) { return nil }
    }
}
