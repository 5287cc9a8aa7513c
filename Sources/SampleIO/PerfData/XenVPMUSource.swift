/// perf in dom0 under Xen's virtual PMU (docs/XEN.md): with `vpmu=on` and the PMU mode set to `hv` or `all`
/// (`xenpm`'s `XENPMU_MODE_HV`/`_ALL`), dom0's Linux hands perf the samples Xen takes of itself as ordinary
/// *kernel*-mode samples at Xen's own addresses. On x86-64 Xen lives in the part of the address space Linux
/// leaves to a hypervisor, `0xffff800000000000 ..< 0xffff880000000000` (Xen's text at `0xffff82d040000000`);
/// Linux never runs code there. This source hands such samples (and callchain frames) on as what they are:
/// the hypervisor's (domain `xen`, mode `hypervisor`, as perf's own hypervisor cpumode), so reports resolve
/// them against `--xen xen-syms` with OProfile's names instead of leaving them `[unknown]` in dom0's kernel.
///
/// Guest-mode samples of such a recording (`_ALL` mode) stay in a guest domain: perf cannot tell which Xen
/// guest they came from, and a warning says so.
final class XenVPMUSource: SampleSource {
    private let inner: any SampleSource
    private var found: UInt64 = 0
    private var guestSamples = false

    /// x86-64's hypervisor hole (Linux's `Documentation/arch/x86/x86_64/mm.rst`: "reserved for a hypervisor").
    static let hypervisorRange: Range<UInt64> = 0xffff_8000_0000_0000 ..< 0xffff_8800_0000_0000

    init(_ inner: any SampleSource) {
        self.inner = inner
    }

    var metadata: RunMetadata { inner.metadata }

    var stats: DecodeStats {
        var s = inner.stats
        if found > 0 {
            s.warnings.append("\(found) kernel-mode samples lie at Xen's addresses (0xffff8000… – 0xffff87ff…): a dom0 recording under Xen's vPMU; they are reported as the hypervisor's (domain xen; resolve them with --xen xen-syms)")
            if guestSamples {
                s.warnings.append("guest-mode samples of a Xen vPMU recording: perf does not say which Xen guest ran, so they stay in one guest domain per sampled process, not per Xen domain id")
            }
        }
        return s
    }

    func setCallchainsWanted(_ wanted: Bool) { inner.setCallchainsWanted(wanted) }
    func setMergingAllowed(_ allowed: Bool) { inner.setMergingAllowed(allowed) }

    func nextBatch() throws(SampleIOError) -> SampleBatch? {
        guard var batch = try inner.nextBatch() else { return nil }
        let lo = Self.hypervisorRange.lowerBound, width = Self.hypervisorRange.upperBound - lo
        // One compare per sample; the arrays are written (and copied if shared) only when a sample is Xen's.
        var hits: [Int] = []
        batch.samples.withUnsafeBufferPointer { samples in
            for i in samples.indices where samples[i].ip &- lo < width && samples[i].mode == .kernel && samples[i].domain == .host {
                hits.append(i)
            }
        }
        if !hits.isEmpty {
            for i in hits {
                batch.samples[i].mode = .hypervisor
                batch.samples[i].domain = .hypervisor
                found &+= batch.samples[i].count
            }
            for i in batch.frames.indices where batch.frames[i].ip &- lo < width && batch.frames[i].mode == .kernel {
                batch.frames[i].mode = .hypervisor
            }
        }
        if found > 0 && !guestSamples {
            guestSamples = batch.samples.contains { $0.domain != .host && $0.domain != .hypervisor }
        }
        return batch
    }
}
