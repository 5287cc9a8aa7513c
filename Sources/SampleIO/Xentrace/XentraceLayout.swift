/// The record layout of Xen's trace buffers as the `xentrace` daemon writes them to a file (Xen's public
/// header `trace.h`, `struct t_rec`; docs/XEN.md has the whole picture).
///
/// A file is a sequence of *windows*: a cpu-change record `{cpu, window_size}` (event `TRC_TRACE_CPU_CHANGE`,
/// two extra words, no TSC) followed by `window_size` bytes of that physical CPU's records. A record is a
/// 32-bit header — event in bits 0–27, the number of extra 32-bit words in bits 28–30, bit 31 set when a
/// 64-bit TSC follows the header — then the TSC (if any), then the extra words. All little-endian (x86).
enum XentraceLayout {
    /// `TRC_TRACE_CPU_CHANGE`: starts each window.
    static let cpuChange: UInt32 = 0x0001_f003
    /// `TRC_LOST_RECORDS`: `{u32 lost, u16 domain, u16 vcpu, u64 first_tsc}` (four extra words).
    static let lostRecords: UInt32 = 0x0001_f001
    /// `TRC_TRACE_WRAP_BUFFER`: padding to the end of Xen's ring; no meaning.
    static let wrapBuffer: UInt32 = 0x0001_f002
    /// `TRC_SCHED_RUNSTATE_CHANGE` (low nibble 1; the old runstate in bits 8–11, the new one in 4–7):
    /// `{u16 vcpu, u16 domain}`.
    static let runstateChangeMask: UInt32 = 0x0fff_f00f
    static let runstateChange: UInt32 = 0x0002_1001
    /// `TRC_SCHED_CONTINUE_RUNNING`: `{u16 vcpu, u16 domain}` keeps running.
    static let continueRunning: UInt32 = 0x0002_1002
    /// `TRC_SCHED_SWITCH`: `{prev domain, prev vcpu, next domain, next vcpu}`.
    static let schedSwitch: UInt32 = 0x0002_800a
    static let switchInfPrev: UInt32 = 0x0002_800e
    static let switchInfNext: UInt32 = 0x0002_800f
    static let switchInfCont: UInt32 = 0x0002_8011
    /// `TRC_HVM_VMENTRY`.
    static let vmentry: UInt32 = 0x0008_1001
    /// `TRC_HVM_VMX_EXIT` / `TRC_HVM_SVM_EXIT`: `{u32 reason, u32 eip}`; with `TRC_64_FLAG` (0x100)
    /// `{u32 reason, u64 rip}`.
    static let vmxExit: UInt32 = 0x0008_1002
    static let svmExit: UInt32 = 0x0008_1003
    static let flag64: UInt32 = 0x100

    /// Xen's idle domain (`DOMID_IDLE`); its vCPU number is the physical CPU.
    static let idleDomain: UInt32 = 32767

    /// Runstates of `TRC_SCHED_RUNSTATE_CHANGE` (`RUNSTATE_*` of Xen's `vcpu.h`).
    static let running: UInt32 = 0

    /// xenalyze's default TSC rate when `--cpu-hz` is not given (2.4 GHz).
    static let defaultCPUHz: UInt64 = 2_400_000_000

    /// Xen's trace classes (`TRC_GEN`, `_SCHED`, `_DOM0OP`, `_HVM`, `_MEM`, `_PV`, `_SHADOW`, `_HW`, `_GUEST`), as
    /// ``eventClass(_:)`` gives them: events of other classes are counted as unknown.
    static let knownClasses: Set<UInt32> = [0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x800]

    /// Major class of an event (bits 16–27), its sub-class (bits 12–15).
    static func eventClass(_ e: UInt32) -> UInt32 { (e >> 16) & 0xfff }
    static func subClass(_ e: UInt32) -> UInt32 { (e >> 12) & 0xf }

    /// A short name of an event for `info`'s counts (`sched:runstate_change`, `hvm:vmexit`, `0x00082013`).
    static func eventName(_ e: UInt32) -> String {
        switch e {
        case cpuChange: return "trace:cpu_change"
        case lostRecords: return "trace:lost_records"
        case wrapBuffer: return "trace:wrap_buffer"
        case continueRunning: return "sched:continue_running"
        case schedSwitch: return "sched:switch"
        case switchInfPrev: return "sched:switch_infprev"
        case switchInfNext: return "sched:switch_infnext"
        case switchInfCont: return "sched:switch_infcont"
        case vmentry: return "hvm:vmentry"
        case vmxExit, vmxExit | flag64: return "hvm:vmx_exit"
        case svmExit, svmExit | flag64: return "hvm:svm_exit"
        default:
            if e & runstateChangeMask == runstateChange { return "sched:runstate_change" }
            let hex = String(e, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, 8 - hex.count)) + hex
        }
    }
}

/// Exit reasons by the names xenalyze prints: Intel's basic exit reasons (SDM vol. 3, appendix C) and AMD's
/// `VMEXIT_*` codes (APM vol. 2, appendix C).
public enum ExitReasonNames {
    private static let vmx: [Int: String] = [
        0: "EXCEPTION_NMI", 1: "EXTERNAL_INTERRUPT", 2: "TRIPLE_FAULT", 3: "INIT", 4: "SIPI", 5: "IO_SMI",
        6: "OTHER_SMI", 7: "PENDING_VIRT_INTR", 8: "PENDING_VIRT_NMI", 9: "TASK_SWITCH", 10: "CPUID",
        11: "GETSEC", 12: "HLT", 13: "INVD", 14: "INVLPG", 15: "RDPMC", 16: "RDTSC", 17: "RSM", 18: "VMCALL",
        19: "VMCLEAR", 20: "VMLAUNCH", 21: "VMPTRLD", 22: "VMPTRST", 23: "VMREAD", 24: "VMRESUME",
        25: "VMWRITE", 26: "VMXOFF", 27: "VMXON", 28: "CR_ACCESS", 29: "DR_ACCESS", 30: "IO_INSTRUCTION",
        31: "MSR_READ", 32: "MSR_WRITE", 33: "INVALID_GUEST_STATE", 34: "MSR_LOADING",
        36: "MWAIT_INSTRUCTION", 37: "MONITOR_TRAP_FLAG", 39: "MONITOR_INSTRUCTION",
        40: "PAUSE_INSTRUCTION", 41: "MCE_DURING_VMENTRY", 43: "TPR_BELOW_THRESHOLD", 44: "APIC_ACCESS",
        45: "VIRTUALIZED_EOI", 46: "ACCESS_GDTR_OR_IDTR", 47: "ACCESS_LDTR_OR_TR", 48: "EPT_VIOLATION",
        49: "EPT_MISCONFIG", 50: "INVEPT", 51: "RDTSCP", 52: "VMX_PREEMPTION_TIMER_EXPIRED", 53: "INVVPID",
        54: "WBINVD", 55: "XSETBV", 56: "APIC_WRITE", 57: "RDRAND", 58: "INVPCID", 59: "VMFUNC",
        60: "ENCLS", 61: "RDSEED", 62: "PML_FULL", 63: "XSAVES", 64: "XRSTORS", 74: "BUS_LOCK",
        75: "NOTIFY",
    ]

    private static let svmLow: [String] = {
        var n: [String] = []
        for i in 0..<16 { n.append("VMEXIT_CR\(i)_READ") }
        for i in 0..<16 { n.append("VMEXIT_CR\(i)_WRITE") }
        for i in 0..<16 { n.append("VMEXIT_DR\(i)_READ") }
        for i in 0..<16 { n.append("VMEXIT_DR\(i)_WRITE") }
        let exc = ["DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "09", "TS", "NP", "SS", "GP", "PF", "15",
                   "MF", "AC", "MC", "XF"]
        for e in exc { n.append("VMEXIT_EXCEPTION_" + e) }
        for i in 20..<32 { n.append("VMEXIT_EXCEPTION_\(i)") }
        n += ["INTR", "NMI", "SMI", "INIT", "VINTR", "CR0_SEL_WRITE", "IDTR_READ", "GDTR_READ", "LDTR_READ",
              "TR_READ", "IDTR_WRITE", "GDTR_WRITE", "LDTR_WRITE", "TR_WRITE", "RDTSC", "RDPMC", "PUSHF", "POPF",
              "CPUID", "RSM", "IRET", "SWINT", "INVD", "PAUSE", "HLT", "INVLPG", "INVLPGA", "IOIO", "MSR",
              "TASK_SWITCH", "FERR_FREEZE", "SHUTDOWN", "VMRUN", "VMMCALL", "VMLOAD", "VMSAVE", "STGI", "CLGI",
              "SKINIT", "RDTSCP", "ICEBP", "WBINVD", "MONITOR", "MWAIT", "MWAIT_CONDITIONAL"].map { "VMEXIT_" + $0 }
        return n
    }()

    /// The name of an Intel VMX basic exit reason (bits 0–15 of the exit-reason field).
    public static func vmx(_ reason: UInt32) -> String {
        vmx[Int(reason & 0xffff)] ?? "VMX_EXIT_\(reason & 0xffff)"
    }

    /// The name of an AMD SVM exit code.
    public static func svm(_ code: UInt32) -> String {
        if Int(code) < svmLow.count { return svmLow[Int(code)] }
        if code == 0x400 { return "VMEXIT_NPF" }
        return "VMEXIT_0x" + String(code, radix: 16)
    }
}
