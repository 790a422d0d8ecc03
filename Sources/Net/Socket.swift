#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Thin wrappers over the socket syscalls Net uses, all through `systemCall`. File
/// descriptors are plain `Int32`s owned by whoever called `accept`/`makeListener`/`connect`.
enum Socket {
    enum ReadResult: Equatable {
        case bytes(Int)
        case wouldBlock
        case endOfFile
    }

    /// A socket address from an IPv4 or IPv6 literal (`localhost` means 127.0.0.1).
    /// Host names are not resolved here: Node passes addresses from its configuration.
    static func address(host: String, port: Int) throws(SystemCallError) -> sockaddr_storage {
        var storage = sockaddr_storage()
        let literal = host == "localhost" ? "127.0.0.1" : host
        guard (0...65535).contains(port) else { throw SystemCallError(call: "address", errno: EINVAL) }
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, literal, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: v4, as: sockaddr_in.self) }
            return storage
        }
        var v6 = sockaddr_in6()
        let bare = literal.hasPrefix("[") && literal.hasSuffix("]") ? String(literal.dropFirst().dropLast()) : literal
        if inet_pton(AF_INET6, bare, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: v6, as: sockaddr_in6.self) }
            return storage
        }
        throw SystemCallError(call: "inet_pton(\(host))", errno: EINVAL)
    }

    static func length(of address: sockaddr_storage) -> socklen_t {
        socklen_t(Int32(address.ss_family) == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
    }

    /// `host:port` text for logs and `RequestContext.remoteAddress`.
    static func describe(_ address: sockaddr_storage) -> String {
        var copy = address
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        return withUnsafePointer(to: &copy) { pointer in
            if Int32(address.ss_family) == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                    var addr = v6.pointee.sin6_addr
                    inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
                    return "[\(cText(text))]:\(UInt16(bigEndian: v6.pointee.sin6_port))"
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                var addr = v4.pointee.sin_addr
                inet_ntop(AF_INET, &addr, &text, socklen_t(text.count))
                return "\(cText(text)):\(UInt16(bigEndian: v4.pointee.sin_port))"
            }
        }
    }

    private static func cText(_ text: [CChar]) -> String {
        String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A non-blocking listening socket bound to `host:port` (port 0 picks a free one), and
    /// the port it got.
    static func makeListener(host: String, port: Int, backlog: Int32) throws(SystemCallError) -> (fd: Int32, port: Int) {
        var address = try Self.address(host: host, port: port)
        let fd = try systemCall("socket") {
            socket(Int32(address.ss_family), Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        do throws(SystemCallError) {
            var one: Int32 = 1
            _ = try systemCall("setsockopt(SO_REUSEADDR)") {
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            let length = Self.length(of: address)
            _ = try systemCall("bind") {
                withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
            }
            _ = try systemCall("listen") { listen(fd, backlog) }
            var bound = sockaddr_storage()
            var boundLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            _ = try systemCall("getsockname") {
                withUnsafeMutablePointer(to: &bound) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &boundLength) }
                }
            }
            let boundPort = withUnsafeBytes(of: &bound) { raw in
                Int(UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self)))  // sin_port and sin6_port sit at offset 2
            }
            return (fd, boundPort)
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
    }

    /// Accepts one pending connection as a non-blocking fd; nil when none is pending.
    static func accept(_ listener: Int32) throws(SystemCallError) -> (fd: Int32, peer: String)? {
        var peer = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        do throws(SystemCallError) {
            // accept4 is hidden behind _GNU_SOURCE in Swift's Glibc module: accept, then fcntl.
            let fd = try systemCall("accept") {
                withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(listener, $0, &length) }
                }
            }
            do throws(SystemCallError) {
                _ = try systemCall("fcntl(F_SETFD)") { fcntl(fd, F_SETFD, FD_CLOEXEC) }
                _ = try systemCall("fcntl(F_SETFL)") { fcntl(fd, F_SETFL, O_NONBLOCK) }
            } catch {
                _ = Glibc.close(fd)
                throw error
            }
            setNoDelay(fd)
            return (fd, describe(peer))
        } catch where error.errno == EAGAIN || error.errno == EWOULDBLOCK || error.errno == ECONNABORTED {
            return nil
        }
    }

    /// Connects a non-blocking socket, waiting at most `timeout`.
    static func connect(host: String, port: Int, timeout: Duration) throws(SystemCallError) -> Int32 {
        var address = try Self.address(host: host, port: port)
        let fd = try systemCall("socket") {
            socket(Int32(address.ss_family), Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        }
        do throws(SystemCallError) {
            let length = Self.length(of: address)
            do throws(SystemCallError) {
                _ = try systemCall("connect") {
                    withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) } }
                }
            } catch where error.errno == EINPROGRESS {
                guard try wait(fd, events: Int16(POLLOUT), until: .now + timeout) else {
                    throw SystemCallError(call: "connect", errno: ETIMEDOUT)
                }
                var status: Int32 = 0
                var statusLength = socklen_t(MemoryLayout<Int32>.size)
                _ = try systemCall("getsockopt(SO_ERROR)") { getsockopt(fd, SOL_SOCKET, SO_ERROR, &status, &statusLength) }
                if status != 0 { throw SystemCallError(call: "connect", errno: status) }
            }
            setNoDelay(fd)
            return fd
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
    }

    /// Waits until `fd` is ready for `events` or the deadline passes (false).
    static func wait(_ fd: Int32, events: Int16, until deadline: ContinuousClock.Instant) throws(SystemCallError) -> Bool {
        while true {
            let remaining = deadline - .now
            if remaining <= .zero { return false }
            let milliseconds = Int32(min(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1, 60_000))
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let ready = try systemCall("poll") { poll(&descriptor, 1, milliseconds) }
            if ready > 0 { return true }
        }
    }

    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> ReadResult {
        do throws(SystemCallError) {
            let count = try systemCall("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
            return count == 0 ? .endOfFile : .bytes(count)
        } catch where error.errno == EAGAIN || error.errno == EWOULDBLOCK {
            return .wouldBlock
        }
    }

    /// Writes what the socket takes now; 0 when it would block. MSG_NOSIGNAL: a peer that
    /// went away gives EPIPE, never SIGPIPE.
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemCallError) -> Int {
        do throws(SystemCallError) {
            return try systemCall("send") { send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
        } catch where error.errno == EAGAIN || error.errno == EWOULDBLOCK {
            return 0
        }
    }

    static func close(_ fd: Int32) {
        // Linux closes the descriptor even when close reports EINTR, so it is never retried.
        _ = Glibc.close(fd)
    }

    private static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = try? systemCall("setsockopt(TCP_NODELAY)") {
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
    }
}
