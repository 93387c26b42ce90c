internal import Foundation

/// A fixed set of dedicated threads that run blocking database calls off Swift's cooperative pool.
///
/// Each thread owns one `State` (a connection, opened lazily by the job) for its whole life, so a
/// connection is only ever used by one thread, one job at a time — the rule of both sqlite3 and
/// libpq. Jobs are served first in, first out by whichever thread is free.
public final class DatabaseThreads<State>: @unchecked Sendable {
    typealias Job = (inout State) -> Void

    // Guards `jobs`, `head` and `closed`; threads wait on it for work.
    private let condition = NSCondition()
    private var jobs: [Job?] = []
    private var head = 0
    private var closed = false
    private let finished: DispatchGroup = DispatchGroup()

    /// Starts `count` threads named `name`; each calls `makeState` once, on itself.
    public init(count: Int, name: String, makeState: @escaping @Sendable () -> State) {
        precondition(count > 0, "a database needs at least one thread")
        for index in 0..<count {
            finished.enter()
            let thread = Thread { [self] in
                var state = makeState()
                serve(&state)
                finished.leave()
            }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    /// Runs `body` on one of the threads with that thread's state and returns its result.
    /// - Throws: what `body` throws, or `StoreError.connectionLost` after `shutdown()`.
    public func run<T: Sendable>(_ body: @escaping @Sendable (inout State) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = enqueue { state in
                continuation.resume(with: Result { try body(&state) })
            }
            if !accepted { continuation.resume(throwing: StoreError.connectionLost(reason: "store is closed")) }
        }
    }

    /// Refuses new jobs, lets queued ones finish, then ends the threads (dropping their states).
    /// Safe to call from `deinit` and more than once.
    public func stop() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// `stop()`, then waits until every thread has ended, without blocking the caller's thread.
    public func shutdown() async {
        stop()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            finished.notify(queue: .global()) { continuation.resume() }
        }
    }

    /// Queues `job` without waiting for it; false when the threads are stopped.
    func enqueue(_ job: @escaping Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    private func serve(_ state: inout State) {
        while let job = next() {
            job(&state)
        }
    }

    private func next() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while head == jobs.count {
            if closed { return nil }
            condition.wait()
        }
        let job = jobs[head]
        jobs[head] = nil
        head += 1
        // Compact now and then so the queue does not grow without bound.
        if head > 1024, head * 2 > jobs.count {
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }
}
