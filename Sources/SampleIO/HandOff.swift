import Dispatch

/// A bounded first-in first-out queue between two threads: `put` waits for room, `take` waits for an item.
/// After ``cancel()`` a waiting or later `put` returns false and `take` returns nil once the queue is empty,
/// so either side can stop the other.
final class HandOff<Element>: @unchecked Sendable {
    private let slots: DispatchSemaphore
    private let filled = DispatchSemaphore(value: 0)
    private let lock = DispatchSemaphore(value: 1)  // free again whenever it can be released
    /// Waiting items from `head` on; the slots before `head` were handed out and hold nil, so a delivered
    /// item is released at once, and they are removed once they are half the array (the array's size
    /// stays about twice the capacity however far ahead the producer runs).
    private var items: [Element?] = []
    private var head = 0
    private var cancelled = false
    /// Slots still to be withheld: the first `startSlack` items taken give no slot back (see ``init(capacity:startSlack:)``).
    private var slack = 0

    /// - Parameters:
    ///   - capacity: how many items may wait (at least 1).
    ///   - startSlack: how many more may wait before the consumer's first takes: the capacity starts at
    ///     `capacity + startSlack` and comes down to `capacity` as the first `startSlack` items are taken
    ///     (a consumer that is busy with something else at first lets the producer run that far ahead).
    init(capacity: Int, startSlack: Int = 0) {
        // libdispatch refuses to free a semaphore whose count is below the one it was created with, and
        // a side that stops early leaves slots taken: start at 0 and add the slots one by one.
        slots = DispatchSemaphore(value: 0)
        slack = max(0, startSlack)
        for _ in 0..<(max(1, capacity) + slack) { slots.signal() }
    }

    /// Waits for room and appends `item`; false when the queue was cancelled.
    func put(_ item: Element) -> Bool {
        slots.wait()
        lock.wait()
        defer { lock.signal() }
        if cancelled {
            slots.signal()
            return false
        }
        items.append(item)
        filled.signal()
        return true
    }

    /// Waits for the next item; nil once cancelled and empty.
    func take() -> Element? {
        filled.wait()
        return pop()
    }

    /// The next item if one is waiting (never waits).
    func tryTake() -> Element? {
        guard filled.wait(timeout: .now()) == .success else { return nil }
        return pop()
    }

    private func pop() -> Element? {
        lock.wait()
        guard head < items.count else {
            // Woken by cancel(): wake the next taker too.
            lock.signal()
            filled.signal()
            return nil
        }
        let item = items[head].take()
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 16 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        let giveSlot = slack == 0
        if !giveSlot { slack -= 1 }
        lock.signal()
        if giveSlot { slots.signal() }
        return item
    }

    /// Stops the queue: a waiting `put` returns false, a waiting `take` nil (after what is queued).
    func cancel() {
        lock.wait()
        cancelled = true
        lock.signal()
        slots.signal()
        filled.signal()
    }
}
