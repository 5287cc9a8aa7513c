/// The records of a perf.data's data section, decoded: samples (with callchains, group read values and guest
/// machines), side-band events (through ``PerfSidebandRecords``, shared with the live recorder), losses,
/// compressed records and round ends. What a sample becomes, and where it goes next, is in
/// docs/ARCHITECTURE.md, "perf.data".
extension PerfDataSource {
    func handle(_ r: RawRecord, at offset: Int) {
        let type = r.u32(0)
        let misc = r.u16(4)
        switch type {
        case PerfSidebandRecords.sample:
            handleSample(r, misc: misc, at: offset)
        case 69:  // ID_INDEX: u64 nr, nr × {id, idx, cpu, tid}, then (newer perf) nr × {machine_pid, vcpu}
            guard r.count >= 16 else { stats.drop("id_index"); return }
            let nr = r.u64(8)
            guard nr <= UInt64((r.count - 16) / 32) else { stats.drop("id_index"); return }
            let n = Int(nr)
            guard r.count >= 16 + n * 48 else { return }  // no machine entries
            for k in 0..<n {
                let pid = r.u64(16 + n * 32 + k * 16), vcpu = r.u64(16 + n * 32 + k * 16 + 8)
                if pid != 0 { idMachine[r.u64(16 + k * 32)] = (UInt32(truncatingIfNeeded: pid), UInt32(truncatingIfNeeded: vcpu)) }
            }
        case PerfDataFormat.compressed, PerfDataFormat.compressed2:
            guard offset >= 0 else {
                // perf never nests them; decompressing one into the buffer being read would append to (and
                // may move) the bytes `r` points into.
                stats.drop("compressed (nested)")
                if stats.droppedRecords["compressed (nested)", default: 0] == 1 {
                    stats.warnings.append("\(path): a PERF_RECORD_COMPRESSED record inside decompressed data (perf never writes one); dropped with its contents")
                }
                return
            }
            let dataStart = type == PerfDataFormat.compressed2 ? 16 : 8
            var dataLen = r.count - dataStart
            if type == PerfDataFormat.compressed2 {
                guard r.count >= 16 else { stats.drop("compressed"); return }
                dataLen = min(dataLen, Int(clamping: r.u64(8)))
            }
            if let problem = decompressor.inflate(UnsafeRawBufferPointer(rebasing: r.p[dataStart..<(dataStart + dataLen)]),
                                                  offset: offset, path: path) {
                stats.drop("compressed")
                stats.warnings.append(problem)
            }
        case PerfDataFormat.finishedRound:
            switch delivery {
            case .mergedOnThread: chunkControls.append((chunkSamples.count, .endRound))
            case .merged: stage?.endRound()
            case .timeOrder: sorter.endRound(into: &ready)
            case .fileOrder: break
            }
        case PerfDataFormat.headerAttr, PerfDataFormat.headerFeature, PerfDataFormat.headerBuildID,
             PerfDataFormat.headerTracingData, PerfDataFormat.auxtrace:
            break  // handled when the header was read, or carries nothing xprof uses
        default:
            switch PerfSidebandRecords.decode(r, type: type, misc: misc) {
            case .event(var e, let time):
                if case .mapping(var m) = e, PerfModes.isGuest(cpumode: misc) {
                    m.domain = domain(cpumode: misc, pid: r.u32(8)).0
                    e = .mapping(m)
                }
                queue(e, time: time ?? events.trailerTime(r))
            case .lost(let n):
                stats.addLost(n)
            case .malformed(let name):
                stats.drop(name)
            case .other:
                if !PerfDataFormat.ignored.contains(type) {
                    stats.unknown("perf record type \(type)")
                }
            }
        }
    }

    /// A PERF_RECORD_SAMPLE: its fields by its event's layout, its domain and mode by its cpumode, one sample
    /// per changed counter value for group reads.
    private func handleSample(_ r: RawRecord, misc: UInt16, at offset: Int) {
        guard let ai = events.sampleAttr(r) else {
            stats.drop("sample (unknown event id)")
            return
        }
        let attr = events.layouts[ai]
        let event = UInt16(truncatingIfNeeded: ai)
        guard attr.sampleType & ~PerfAttr.known == 0, let f = PerfSampleFields.parse(r, layout: attr) else {
            stats.drop("sample")
            if stats.droppedRecords["sample", default: 0] <= 3 {
                stats.warnings.append("\(path): sample record \(cursor.recordIndex) at byte \(offset) is shorter than its sample_type 0x\(String(attr.sampleType, radix: 16)) needs; dropped")
            }
            return
        }
        // A guest sample's machine: the VMM of its id's index entry when the file has one, else the sampled pid.
        let machine = PerfModes.isGuest(cpumode: misc) && !idMachine.isEmpty ? idMachine[f.id] : nil
        let (dom, mode) = domain(cpumode: misc, pid: machine?.pid ?? f.pid)
        let s = Sample(ip: f.ip, weight: attr.sampleType & PerfAttr.period != 0 ? f.period : attr.fixedPeriod,
                       time: f.time, pid: f.pid == UInt32.max ? -1 : Int32(bitPattern: f.pid),
                       tid: f.tid == UInt32.max ? -1 : Int32(bitPattern: f.tid), domain: dom,
                       pcpu: f.cpu, vcpu: dom == .host ? f.cpu : (machine?.vcpu ?? Sample.unknownCPU), event: event, mode: mode)
        if f.chainCount > 0 && callchains && f.chainCount >= chainScratch.count {
            // A record holds at most 65535 bytes, so at most 8191 entries (the scratch holds them all).
            stats.drop("sample (callchain too long)")
            return
        }
        guard attr.splitsReads && f.readAt >= 0 else {
            deliver(s, f, r, at: offset)
            return
        }
        // PERF_SAMPLE_READ with ids: perf's samples are the counters' increments, one per changed value,
        // each of the event that owns the value's id (PerfReadValues).
        var chainDecoded = false
        PerfReadValues.forEach(in: r, at: f.readAt, readFormat: attr.readFormat) { id, value in
            guard let member = events.idToAttr[id] else {
                stats.drop("read value (unknown event id)")
                return
            }
            let period = readValues.period(id: id, value: value)
            guard period != 0 else { return }
            var m = s
            m.event = UInt16(truncatingIfNeeded: member)
            m.weight = period
            deliver(m, f, r, at: offset, chainDecoded: chainDecoded)
            chainDecoded = true
        }
    }

    /// The decoded callchain of the sample `f` of record `r` (decoded into `chainScratch` unless
    /// `chainDecoded`: another sample of the same record, a group member's, decoded it).
    @inline(__always)
    private func chain(_ f: PerfSampleFields, _ r: RawRecord, mode: SampleMode, chainDecoded: Bool) -> UnsafeBufferPointer<CallFrame> {
        if !chainDecoded {
            decodedChain = PerfModes.decodeChain(r, at: f.chainOffset, count: f.chainCount, ip: f.ip, mode: mode, into: chainScratch)
        }
        return UnsafeBufferPointer(rebasing: chainScratch[decodedChain])
    }

    /// Hands one sample of the record `r` (at file offset `offset`, -1 when decompressed) on, as `delivery`
    /// says.
    @inline(__always)
    private func deliver(_ s: Sample, _ f: PerfSampleFields, _ r: RawRecord, at offset: Int, chainDecoded: Bool = false) {
        let withChain = f.chainCount > 0 && callchains
        switch delivery {
        case .merged, .mergedOnThread:
            let chain = withChain ? chain(f, r, mode: s.mode, chainDecoded: chainDecoded) : UnsafeBufferPointer(start: nil, count: 0)
            let key = SampleMerger.Key(s)
            let h = SampleMerger.hash(key, chain)
            if delivery == .mergedOnThread {
                chunkSamples.append(PerfChunk.Parsed(ip: key.ip, threads: key.threads, place: key.place, cpus: key.cpus,
                                                     hash: h, time: s.time, weight: s.weight,
                                                     chain_start: UInt32(truncatingIfNeeded: chunkFrames.count),
                                                     chain_count: UInt32(truncatingIfNeeded: chain.count)))
                chunkFrames.append(contentsOf: chain)
            } else {
                stage?.sample(key, hash: h, chain: chain, time: s.time, weight: s.weight)
            }
        case .timeOrder:
            if !withChain {
                sorter.queue(s, into: &ready)
            } else if offset >= 0 {
                // Waiting for its round: keep only where the chain is in the file and decode it once, straight
                // into the batch, when the sample is delivered.
                sorter.queue(s, chainInFileAt: offset + f.chainOffset, count: f.chainCount, into: &ready)
            } else {
                sorter.queue(s, chain: chain(f, r, mode: s.mode, chainDecoded: chainDecoded), into: &ready)
            }
        case .fileOrder:
            var c = s
            if withChain {
                let chain = chain(f, r, mode: s.mode, chainDecoded: chainDecoded)
                c.chainStart = UInt32(truncatingIfNeeded: ready.frames.count)
                c.chainCount = UInt32(truncatingIfNeeded: chain.count)
                ready.frames.append(contentsOf: chain)
            }
            ready.samples.append(c)
        }
    }

    /// Queues a side-band event, as `delivery` says.
    private func queue(_ e: SidebandEvent, time: UInt64) {
        switch delivery {
        case .mergedOnThread: chunkControls.append((chunkSamples.count, .sideband(e, time: time)))
        case .merged: stage?.sideband(e, time: time)
        case .timeOrder: sorter.queue(e, time: time)
        case .fileOrder: ready.append(e, time: time)
        }
    }

    /// The domain and mode of a record of `cpumode`; a guest's domain is its machine, known by its VMM's pid
    /// (a domain of the run's from the first record of it on).
    func domain(cpumode: UInt16, pid: UInt32) -> (DomainID, SampleMode) {
        guard PerfModes.isGuest(cpumode: cpumode) else { return PerfModes.host(cpumode: cpumode) }
        // A KVM guest is identified by its VMM process (the pid that ran the vCPU thread).
        let g = pid == UInt32.max ? 0xFFFF_0000 : pid
        if !guests.contains(g) { addGuest(g) }
        return (DomainID(g), PerfModes.mode(cpumode: cpumode))
    }
}
