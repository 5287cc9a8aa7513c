import Foundation
import Testing
@testable import SampleIO
#if canImport(Glibc)
import Glibc
#endif

/// Signals interrupting writes, output files replaced whole, and the reader/writer queue between decoder
/// threads releasing what it delivered.
@Suite(.serialized) struct SystemCallsTests {
    nonisolated(unsafe) static var interruptions = 0

    /// A write into a full pipe, interrupted by a signal whose handler is installed without SA_RESTART (so
    /// `write(2)` returns EINTR), still delivers every byte.
    @Test func writeAllContinuesAfterEINTR() throws {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in SystemCallsTests.interruptions += 1 }
        action.sa_flags = 0  // no SA_RESTART
        var previous = sigaction()
        sigaction(SIGUSR1, &action, &previous)
        defer { sigaction(SIGUSR1, &previous, nil) }
        Self.interruptions = 0

        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }  // 16 times a pipe's 64 KiB
        nonisolated(unsafe) var result: Result<Void, Errno> = .success(())
        nonisolated(unsafe) var writerThread = pthread_t()
        let started = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)
        let writeEnd = fds[1]
        Thread.detachNewThread {
            writerThread = pthread_self()
            var usr1 = sigset_t()
            sigemptyset(&usr1)
            sigaddset(&usr1, SIGUSR1)
            pthread_sigmask(SIG_UNBLOCK, &usr1, nil)  // the test runner's threads may block it
            started.signal()
            do throws(Errno) { try SystemCalls.writeAll(writeEnd, payload[...]) } catch { result = .failure(error) }
            finished.signal()
        }
        started.wait()
        // Signal the writer while it blocks on the full pipe, then read a little, several times over.
        var received: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 14)
        while received.count < payload.count {
            if received.count < payload.count / 2 {
                usleep(2000)
                pthread_kill(writerThread, SIGUSR1)
            }
            let n = try SystemCalls.readFully(fds[0], into: &buf)
            received += buf[0..<n]
        }
        finished.wait()
        #expect(throws: Never.self) { try result.get() }
        #expect(received == payload)
        #expect(Self.interruptions > 0)
    }

    @Test func outputFilesAreReplacedWholeAndKeepTheirMode() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.txt").path
        try FileBytes.write(Array("first".utf8), to: path)
        try FileBytes.write(Array("second".utf8), to: path)
        #expect(try FileBytes.read(path) == Array("second".utf8))
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o666 & ~Int(SystemCalls.creationMask))
        // Nothing else is left in the folder (the temporary file was renamed).
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.txt"])
        // A folder that does not exist: the error names the output and says why.
        #expect {
            try FileBytes.write([1], to: dir.path + "/missing/out.txt")
        } throws: { e in
            let e = e as? SampleIOError
            return e?.path == dir.path + "/missing/out.txt" && e?.code == .missingInput && e?.message.contains("cannot create") == true
        }
        // A device is written in place, never replaced by a rename.
        try FileBytes.write(Array("x".utf8), to: "/dev/null")
        var st = stat()
        #expect(stat("/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR)
    }

    @Test func writeErrorsNameTheFileAndTheCause() throws {
        #expect {
            try FileBytes.write([UInt8](repeating: 1, count: 1 << 16), to: "/dev/full")
        } throws: { e in
            let e = e as? SampleIOError
            return e?.path == "/dev/full" && e?.message == "write failed: No space left on device" && e?.hint != nil
        }
    }

    final class Box: Sendable {}

    /// The queue releases each item once it is taken, even when the producer stays ahead and the queue is
    /// never empty.
    @Test func handOffReleasesDeliveredItemsWhileItemsWait() {
        let queue = HandOff<Box>(capacity: 4)
        weak var firstTaken: Box?
        var waiting: Box? = Box()
        _ = queue.put(waiting!)
        waiting = nil
        for round in 0..<100 {
            _ = queue.put(Box())  // one item always waits
            weak var taken = queue.take()
            #expect(taken == nil, "round \(round): a delivered item is still held by the queue")
            if round == 0 { firstTaken = taken }
        }
        #expect(firstTaken == nil)
        #expect(queue.tryTake() != nil)
        #expect(queue.tryTake() == nil)
    }
}
