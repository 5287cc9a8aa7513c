/// Summary statistics of repeated timings.
public struct TimingStats: Sendable, Equatable {
    /// The timings as given, in run order (`overhead` gives wall-clock seconds per run).
    public var samples: [Double]
    /// Arithmetic mean of ``samples`` (0 when there are none).
    public var mean: Double
    /// Sample standard deviation (n − 1 in the denominator); 0 for fewer than two runs.
    public var standardDeviation: Double
    /// Middle value (mean of the two middle ones for an even count); 0 when there are none.
    public var median: Double
    /// 95 % confidence interval of the mean (Student t with n − 1 degrees of freedom; the mean itself for one run).
    public var meanLow: Double
    /// Upper end of the 95 % confidence interval of the mean (see ``meanLow``).
    public var meanHigh: Double

    /// The statistics of `xs` (any unit; the results are in the same one).
    public init(_ xs: [Double]) {
        samples = xs
        let n = Double(max(xs.count, 1))
        mean = xs.reduce(0, +) / n
        let m = mean
        standardDeviation = xs.count > 1 ? (xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)).squareRoot() : 0
        let sorted = xs.sorted()
        median = sorted.isEmpty ? 0 : (sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                                       : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2)
        let half = xs.count > 1 ? OverheadEstimate.t95(Double(xs.count - 1)) * standardDeviation / Double(xs.count).squareRoot() : 0
        meanLow = mean - half
        meanHigh = mean + half
    }
}

/// How much a profiler slowed a command down, with a confidence interval.
public struct OverheadEstimate: Sendable {
    /// Which profiler ran the command (`xprof`, `perf`).
    public var profiler: String
    /// Timings of the command alone.
    public var baseline: TimingStats
    /// Timings of the command under the profiler.
    public var profiled: TimingStats
    /// (profiled mean − baseline mean) / baseline mean, in percent.
    public var percent: Double
    /// 95 % confidence interval of `percent` (Welch's t on the difference of means, scaled by the baseline mean).
    public var low: Double
    /// Upper end of the 95 % confidence interval of `percent`.
    public var high: Double
    /// The profiler's fixed cost per run, in seconds: the profiler around a command that does nothing
    /// (`/bin/true`) less that command alone (nil when not measured).
    public var startupSeconds: Double? = nil
    /// The overhead without the start-up cost: (profiled − start-up − baseline) / baseline, in percent — what
    /// a longer run of the same command would pay.
    public var steadyPercent: Double? = nil

    /// Whether the overhead is above `limit` percent for sure (the whole 95 % interval above it), below it
    /// (the whole interval at or below), or cannot be told on these runs.
    public enum Verdict: Equatable, Sendable { case within, above, inconclusive }
    /// ``Verdict/above`` when the interval's low end is above `limit` (percent), ``Verdict/within`` when its
    /// high end is at or below it, else ``Verdict/inconclusive``.
    public func verdict(limit: Double) -> Verdict {
        low > limit ? .above : high <= limit ? .within : .inconclusive
    }

    /// With the runs of the profiler around `/bin/true` (`startupProfiled`) and of `/bin/true` alone
    /// (`startupPlain`): also the start-up cost and the steady-state overhead.
    public init(profiler: String, baseline: [Double], profiled: [Double], startupPlain: [Double], startupProfiled: [Double]) {
        self.init(profiler: profiler, baseline: baseline, profiled: profiled)
        guard !startupPlain.isEmpty, !startupProfiled.isEmpty else { return }
        let s = TimingStats(startupProfiled).mean - TimingStats(startupPlain).mean
        startupSeconds = s
        steadyPercent = baseline.isEmpty || self.baseline.mean <= 0 ? nil
            : (self.profiled.mean - s - self.baseline.mean) / self.baseline.mean * 100
    }

    /// Compares timings of the command alone (`baseline`) and under `profiler` (`profiled`), in seconds; with
    /// an empty or zero baseline, `percent` and its interval are 0.
    public init(profiler: String, baseline: [Double], profiled: [Double]) {
        self.profiler = profiler
        self.baseline = TimingStats(baseline)
        self.profiled = TimingStats(profiled)
        let b = self.baseline, p = self.profiled
        percent = b.mean > 0 ? (p.mean - b.mean) / b.mean * 100 : 0
        let vb = b.standardDeviation * b.standardDeviation / Double(max(1, b.samples.count))
        let vp = p.standardDeviation * p.standardDeviation / Double(max(1, p.samples.count))
        let se = (vb + vp).squareRoot()
        // Welch–Satterthwaite degrees of freedom, then the two-sided 95 % t quantile.
        let df = (vb + vp) * (vb + vp) / max(1e-300, vb * vb / Double(max(1, b.samples.count - 1)) + vp * vp / Double(max(1, p.samples.count - 1)))
        let t = Self.t95(df)
        let half = b.mean > 0 ? t * se / b.mean * 100 : 0
        low = percent - half
        high = percent + half
    }

    /// Two-sided 95 % Student t quantile for `df` degrees of freedom (table, then the normal limit).
    static func t95(_ df: Double) -> Double {
        let table: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                               2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                               2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
        guard df.isFinite, df >= 1 else { return table[0] }
        let k = Int(df.rounded(.down))
        return k <= table.count ? table[k - 1] : 1.96
    }
}
