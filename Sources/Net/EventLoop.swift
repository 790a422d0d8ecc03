#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Synchronization

/// Something registered with an event loop: a listener or a connection. Only ever called
/// on its loop's thread.
protocol EventLoopChannel: AnyObject {
    func handle(events: UInt32)
    func tick(now: ContinuousClock.Instant)
}

/// One epoll instance driven by one thread. Channels registered with it are touched only
/// on that thread; other threads hand it work with `execute`, which wakes it through an
/// eventfd. Ticks at `tickInterval` so channels can enforce their timeouts.
final class EventLoop: @unchecked Sendable {
    // @unchecked: `channels`, `scratch`, `onIdle` and `exitWhenEmpty` are touched only on
    // the loop thread; `tasks` is behind a Mutex; the fds are immutable after init.
    let epollFD: Int32
    private let wakeFD: Int32
    /// Work handed over by other threads; nil once the loop has exited.
    private let tasks = Mutex<[@Sendable () -> Void]?>([])
    private var channels: [Int32: any EventLoopChannel] = [:]
    private let tickInterval: Duration
    private let finished = DispatchSemaphore(value: 0)
    /// A read buffer shared by every channel of this loop (they never run concurrently).
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    /// When set, the loop exits once it has no channels left.
    var exitWhenEmpty = false
    let name: String

    init(name: String, tickInterval: Duration) throws(SystemCallError) {
        self.name = name
        self.tickInterval = tickInterval
        epollFD = try Epoll.create()
        do throws(SystemCallError) {
            wakeFD = try Epoll.makeEventFD()
            try Epoll.control(epollFD, Epoll.add, wakeFD, events: Epoll.in)
        } catch {
            Socket.close(epollFD)
            throw error
        }
    }

    deinit {
        // Closed only here, once no handler can still call `execute`, so a late wake-up
        // never writes to a reused descriptor number.
        Socket.close(wakeFD)
        Socket.close(epollFD)
        scratch.deallocate()
    }

    /// Starts the loop's thread.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    /// Blocks until the loop thread has exited or the deadline passed (false).
    func waitUntilFinished(timeout: Duration) -> Bool {
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        return finished.wait(timeout: .now() + .nanoseconds(Int(nanoseconds))) == .success
    }

    /// Runs `task` on the loop thread soon. Safe from any thread. Once the loop has
    /// exited the task is dropped: kept, it would hold what it captured (a connection, and
    /// through it the loop and the server's handler) for the rest of the process.
    func execute(_ task: @escaping @Sendable () -> Void) {
        let accepted = tasks.withLock { tasks in
            guard tasks != nil else { return false }
            tasks!.append(task)
            return true
        }
        guard accepted else { return }
        var one: UInt64 = 1
        _ = try? systemCall("write(eventfd)") { Glibc.write(wakeFD, &one, 8) }
    }

    // MARK: Loop thread only

    var channelCount: Int { channels.count }

    func forEachChannel(_ body: (any EventLoopChannel) -> Void) {
        for channel in Array(channels.values) { body(channel) }
    }

    func register(_ fd: Int32, events: UInt32, channel: any EventLoopChannel) throws(SystemCallError) {
        try Epoll.control(epollFD, Epoll.add, fd, events: events)
        channels[fd] = channel
    }

    func modify(_ fd: Int32, events: UInt32) throws(SystemCallError) {
        try Epoll.control(epollFD, Epoll.modify, fd, events: events)
    }

    /// Removes `fd` (the caller closes it afterwards).
    func deregister(_ fd: Int32) {
        channels[fd] = nil
        try? Epoll.control(epollFD, Epoll.delete, fd, events: 0)
    }

    private func run() {
        let capacity: Int32 = 256
        let events = UnsafeMutableRawPointer.allocate(byteCount: Int(capacity) * Epoll.eventSize, alignment: 8)
        defer { events.deallocate() }
        let timeoutMilliseconds = Int32(max(1, tickInterval.components.seconds * 1000
            + tickInterval.components.attoseconds / 1_000_000_000_000_000))
        var nextTick = ContinuousClock.now + tickInterval
        while true {
            let ready: Int
            do {
                ready = try Epoll.wait(epollFD, events, capacity: capacity, timeoutMilliseconds: timeoutMilliseconds)
            } catch {
                continue  // only EBADF/EFAULT/EINVAL, which cannot happen with our own fds
            }
            for i in 0..<ready {
                let (mask, fd) = Epoll.event(at: i, in: events)
                if fd == wakeFD {
                    var value: UInt64 = 0
                    _ = try? systemCall("read(eventfd)") { Glibc.read(wakeFD, &value, 8) }
                    continue
                }
                channels[fd]?.handle(events: mask)
            }
            let pending = tasks.withLock { tasks in
                defer { tasks?.removeAll(keepingCapacity: true) }
                return tasks ?? []
            }
            for task in pending { task() }

            let now = ContinuousClock.now
            if now >= nextTick {
                nextTick = now + tickInterval
                forEachChannel { $0.tick(now: now) }
            }
            if exitWhenEmpty && channels.isEmpty {
                // Tasks that came in since the last drain run now; later ones are dropped.
                let last = tasks.withLock { tasks in
                    defer { tasks = nil }
                    return tasks ?? []
                }
                for task in last { task() }
                break
            }
        }
        finished.signal()
    }
}
