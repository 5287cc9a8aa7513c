internal import CPerfShim

/// The bulk of a large recording in one tight loop, when samples are merged (``PerfDataSource/Delivery``
/// `merged` or `mergedOnThread`) from a little-endian file of one event whose samples have a fixed layout,
/// read through the cursor's window (``PerfDataSource/fastLayout`` is set). Several events of one layout
/// (`perf record -a`'s) are told apart by id (docs/ARCHITECTURE.md, "Whole-system reports").
extension PerfDataSource {
    /// Consecutive samples of the host or hypervisor, parsed from the window and handed to the merging stage
    /// (or the chunk for its thread) with no call per record. Stops at anything else — another record type, a
    /// guest sample, a sample it cannot parse, the end of the window, `limit` samples in the chunk — which
    /// ``step()`` then handles as usual.
    func fastSamples(limit: Int) {
        guard var layout = fastLayout else { return }
        let window = cursor.window, windowStart = cursor.windowStart
        let we = min(cursor.windowEnd, cursor.end)
        if delivery == .mergedOnThread {
            // The C loop parses straight into the chunk (callchains, when wanted, decoded into its frames).
            let pos = cursor.pos
            guard pos >= windowStart, pos < we else { return }
            var used = 0, written = 0
            let room = max(0, limit - chunkSamples.count)
            let from = window.assumingMemoryBound(to: UInt8.self) + (pos - windowStart), length = we - pos
            if callchains {
                var frames = chunkFrames
                chunkSamples.append(upTo: room) { out in
                    frames.grow(by: 1 << 16) { base, count in
                        var framesUsed = count
                        base.withMemoryRebound(to: xprof_frame.self, capacity: count + (1 << 16)) { f in
                            used = xprof_perf_fast_samples(from, length, &layout, out, room, &written, f, count + (1 << 16), &framesUsed)
                        }
                        return framesUsed
                    }
                    return written
                }
                chunkFrames = frames
            } else {
                chunkSamples.append(upTo: room) { out in
                    used = xprof_perf_fast_samples(from, length, &layout, out, room, &written, nil, 0, nil)
                    return written
                }
            }
            if used > 0 {
                cursor.pos += used
                cursor.recordIndex += written
                lastRecordType = PerfSidebandRecords.sample
            }
            return
        }
        // The layout's offsets as locals (no optional fields: absent ones read as their "unknown" value).
        let ipAt = Int(layout.ip_at), tidAt = Int(layout.tid_at), timeAt = Int(layout.time_at), cpuAt = Int(layout.cpu_at)
        let periodAt = Int(layout.period_at), chainAt = Int(layout.chain_at), head = Int(layout.head), tail = Int(layout.tail)
        let fixedPeriod = layout.fixed_period
        let wantChains = callchains
        let scratch = chainScratch
        let ws = windowStart
        var o = cursor.pos
        var n = 0
        var samples = chunkSamples, frames = chunkFrames
        let st = stage
        while o + 8 <= we && samples.count < limit {
            let p = window + (o - ws)
            let size = Int(p.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
            let cpumode = p.loadUnaligned(fromByteOffset: 4, as: UInt16.self) & 7
            guard p.loadUnaligned(as: UInt32.self) == PerfSidebandRecords.sample, size >= 8, o + size <= we,
                  !PerfModes.isGuest(cpumode: cpumode) else { break }
            let r = RawRecord(p: UnsafeRawBufferPointer(start: p, count: size), big: false)
            // PerfSampleFields.parseFixed, spelled out here so that nothing but loads remains.
            var chainCount = 0
            var bodyEnd = head
            if chainAt >= 0 {
                guard size >= head + 8 else { break }
                let nr = p.loadUnaligned(fromByteOffset: chainAt, as: UInt64.self)
                guard nr <= UInt64((size - head - 8) / 8) else { break }
                chainCount = Int(nr)
                bodyEnd = head + 8 + chainCount * 8
            }
            guard size - bodyEnd >= tail else { break }
            let ip = ipAt >= 0 ? p.loadUnaligned(fromByteOffset: ipAt, as: UInt64.self) : 0
            let pidTid = tidAt >= 0 ? p.loadUnaligned(fromByteOffset: tidAt, as: UInt64.self) : UInt64.max
            let pid = UInt32(truncatingIfNeeded: pidTid), tid = UInt32(truncatingIfNeeded: pidTid >> 32)
            let time = timeAt >= 0 ? p.loadUnaligned(fromByteOffset: timeAt, as: UInt64.self) : 0
            let cpu = cpuAt >= 0 ? p.loadUnaligned(fromByteOffset: cpuAt, as: UInt32.self) : UInt32.max
            let weight = periodAt >= 0 ? p.loadUnaligned(fromByteOffset: periodAt, as: UInt64.self) : fixedPeriod
            var event: UInt16 = 0
            if layout.id_count > 0 {
                // The sample's event by its id, as the C loop finds it.
                guard layout.id_at >= 0, Int(layout.id_at) + 8 <= size else { break }
                let id = p.loadUnaligned(fromByteOffset: Int(layout.id_at), as: UInt64.self)
                guard let k = (0..<Int(layout.id_count)).first(where: { layout.ids[$0] == id }) else { break }
                event = layout.id_events[k]
            }
            let (dom, mode) = PerfModes.host(cpumode: cpumode)
            var chain = UnsafeBufferPointer<CallFrame>(start: nil, count: 0)
            if chainCount > 0 && wantChains {
                guard chainCount < scratch.count else { break }
                let range = PerfModes.decodeChain(r, at: chainAt + 8, count: chainCount, ip: ip, mode: mode, into: scratch)
                chain = UnsafeBufferPointer(rebasing: scratch[range])
            }
            let key = SampleMerger.Key(ip: ip, pid: pid == UInt32.max ? -1 : Int32(bitPattern: pid),
                                       tid: tid == UInt32.max ? -1 : Int32(bitPattern: tid), domain: dom,
                                       pcpu: cpu, vcpu: dom == .host ? cpu : Sample.unknownCPU, event: event, mode: mode)
            let h = SampleMerger.hash(key, chain)
            if let st {
                st.sample(key, hash: h, chain: chain, time: time, weight: weight)
            } else {
                samples.append(PerfChunk.Parsed(ip: key.ip, threads: key.threads, place: key.place, cpus: key.cpus,
                                                hash: h, time: time, weight: weight,
                                                chain_start: UInt32(truncatingIfNeeded: frames.count),
                                                chain_count: UInt32(truncatingIfNeeded: chain.count)))
                frames.append(contentsOf: chain)
            }
            o += size
            n += 1
        }
        chunkSamples = samples
        chunkFrames = frames
        if n > 0 {
            cursor.pos = o
            cursor.recordIndex += n
            lastRecordType = PerfSidebandRecords.sample
        }
    }
}
