/// Two profiles' folded stacks side by side, as FlameGraph's `difffolded.pl` writes them for
/// `flamegraph.pl` (and inferno's `inferno-diff-folded`): `stack COUNT_BASE COUNT_NEW`, a stack missing on one
/// side counted 0 there.
extension FoldedStacks {
    /// One line per stack of either profile, sorted: its frames as ``lines(_:byPeriod:)`` writes them, then the
    /// base's and the new profile's samples (or event period).
    public static func diffLines(base: [Stack], new: [Stack], byPeriod: Bool) -> [String] {
        var counts: [String: (UInt64, UInt64)] = [:]
        for (side, stacks) in [base, new].enumerated() {
            for st in stacks {
                let key = st.frames.map { $0.name.replacingSemicolonsAndSpaces() }.joined(separator: ";")
                let v = byPeriod ? st.period : st.samples
                if side == 0 { counts[key, default: (0, 0)].0 += v } else { counts[key, default: (0, 0)].1 += v }
            }
        }
        return counts.map { "\($0.key) \($0.value.0) \($0.value.1)" }.sorted()
    }
}
