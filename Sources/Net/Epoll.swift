#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// epoll and eventfd, which Swift's Glibc module does not import (<sys/epoll.h> and
/// <sys/eventfd.h> are not in its module map, and Package.swift takes no C target for
/// them). The functions are looked up once in the C library with `dlsym` and called with
/// the C calling convention; the constants and the `struct epoll_event` layout are the
/// Linux kernel ABI (packed, 12 bytes, on x86_64; 16 bytes elsewhere).
enum Epoll {
    static let `in`: UInt32 = 0x001
    static let out: UInt32 = 0x004
    static let error: UInt32 = 0x008
    static let hangUp: UInt32 = 0x010
    static let readHangUp: UInt32 = 0x2000
    static let exclusive: UInt32 = 1 << 28

    static let add: Int32 = 1
    static let delete: Int32 = 2
    static let modify: Int32 = 3

    #if arch(x86_64)
    static let eventSize = 12
    static let dataOffset = 4
    #else
    static let eventSize = 16
    static let dataOffset = 8
    #endif

    private typealias CreateFunction = @convention(c) (Int32) -> Int32
    private typealias ControlFunction = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    private typealias WaitFunction = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32
    private typealias EventFDFunction = @convention(c) (UInt32, Int32) -> Int32

    // nonisolated(unsafe): C function pointers resolved once and never changed.
    nonisolated(unsafe) private static let createFunction: CreateFunction = symbol("epoll_create1")
    nonisolated(unsafe) private static let controlFunction: ControlFunction = symbol("epoll_ctl")
    nonisolated(unsafe) private static let waitFunction: WaitFunction = symbol("epoll_wait")
    nonisolated(unsafe) private static let eventFDFunction: EventFDFunction = symbol("eventfd")

    private static func symbol<F>(_ name: String) -> F {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, name) else {
            fatalError("C library lacks \(name)")  // Linux only: present in every glibc and musl
        }
        return unsafeBitCast(pointer, to: F.self)
    }

    /// A close-on-exec epoll instance.
    static func create() throws(SystemCallError) -> Int32 {
        try systemCall("epoll_create1") { createFunction(O_CLOEXEC) }
    }

    /// A non-blocking, close-on-exec eventfd used to wake a loop.
    static func makeEventFD() throws(SystemCallError) -> Int32 {
        try systemCall("eventfd") { eventFDFunction(0, O_NONBLOCK | O_CLOEXEC) }
    }

    static func control(_ epollFD: Int32, _ operation: Int32, _ fd: Int32, events: UInt32) throws(SystemCallError) {
        var event: (UInt64, UInt64) = (0, 0)
        try withUnsafeMutableBytes(of: &event) { raw throws(SystemCallError) in
            raw.storeBytes(of: events, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: fd, toByteOffset: dataOffset, as: Int32.self)
            _ = try systemCall("epoll_ctl") { controlFunction(epollFD, operation, fd, raw.baseAddress) }
        }
    }

    /// Waits for events into `buffer` (room for `capacity` events); returns how many.
    static func wait(_ epollFD: Int32, _ buffer: UnsafeMutableRawPointer, capacity: Int32,
                     timeoutMilliseconds: Int32) throws(SystemCallError) -> Int {
        Int(try systemCall("epoll_wait") { waitFunction(epollFD, buffer, capacity, timeoutMilliseconds) })
    }

    /// The (events, fd) of the `index`th event in a `wait` buffer.
    static func event(at index: Int, in buffer: UnsafeMutableRawPointer) -> (events: UInt32, fd: Int32) {
        let base = buffer + index * eventSize
        return (base.loadUnaligned(as: UInt32.self), base.loadUnaligned(fromByteOffset: dataOffset, as: Int32.self))
    }
}
