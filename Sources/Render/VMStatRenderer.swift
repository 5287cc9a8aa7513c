import Profile
import SampleIO

/// Renders ``VMStat`` in vm-stat's line format or as JSON.
public enum VMStatRenderer {
    static func share(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        let whole = Int(r), tenth = Int(((r - Double(whole)) * 10).rounded())
        let w = String(whole)
        return String(repeating: "0", count: max(0, 3 - w.count)) + w + "." + String(tenth)
    }

    static func holderName(_ h: VMStat.Holder) -> String {
        "d\(h.domain)-" + (h.vcpu == Sample.unknownCPU ? "?" : String(h.vcpu))
    }

    /// vm-stat's lines: per interval a `# START s – END s` heading (seconds), then per CPU
    /// `CPU [busy] dD-V[share] …`, shares in percent as `087.3`.
    public static func text(_ v: VMStat) -> String {
        var out = "# xprof vmstat of \(v.source): per physical CPU, [busy %] then the share each domain-vCPU held\n"
        for i in v.intervals {
            if v.intervals.count > 1 || i.end > 0 {
                out += "# \(ReportRenderer.pct(i.start)) s – \(ReportRenderer.pct(i.end)) s\n"
            }
            for c in i.cpus {
                out += "\(c.pcpu) [\(share(c.busyPercent))]"
                for h in c.holders { out += " \(holderName(h))[\(share(h.percent))]" }
                out += "\n"
            }
        }
        return out
    }

    /// One `xprof.vmstat/1` object: per interval its start and end in seconds and per CPU its samples, busy
    /// share and holders (vCPU null when unknown).
    public static func json(_ v: VMStat) -> String {
        JSONValue.object([
            "schema": "xprof.vmstat/1",
            "source": .of(v.source),
            "intervals": .array(v.intervals.map { i in
                .object(["start_s": .of(i.start), "end_s": .of(i.end), "cpus": .array(i.cpus.map { c in
                    .object(["pcpu": .of(c.pcpu), "samples": .of(c.samples), "busy": .of(c.busyPercent),
                             "holders": .array(c.holders.map { h in
                                 .object(["domain": .of(h.domain.rawValue), "vcpu": h.vcpu == Sample.unknownCPU ? .null : .of(h.vcpu),
                                          "percent": .of(h.percent)])
                             })])
                })])
            }),
        ]).rendered()
    }
}
