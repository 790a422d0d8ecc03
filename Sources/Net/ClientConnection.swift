#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One client connection with blocking semantics built on a non-blocking socket and
/// `poll`, so every wait has a deadline. Used by one thread at a time: it is either in the
/// client's idle pool (behind its Mutex) or owned by the one `send` call using it.
final class ClientConnection: @unchecked Sendable {
    private var fd: Int32
    private let tls: TLSSession?
    private var parser: HTTPResponseParser
    private(set) var receivedAnyBytes = false
    private var sawEndOfFile = false
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(configuration: HTTPClient.Configuration, tls context: TLSContext?) throws {
        parser = HTTPResponseParser(limits: configuration.limits)
        fd = try Socket.connect(host: configuration.host, port: configuration.port, timeout: configuration.connectTimeout)
        do {
            tls = try context.map { context throws(TLSError) in try TLSSession(context: context) }
            if let tls { try handshake(tls, deadline: .now + configuration.connectTimeout) }
        } catch {
            Socket.close(fd)
            throw error
        }
    }

    deinit { close() }

    var isReusable: Bool { fd >= 0 && !sawEndOfFile && parser.progress == .idle }

    func close() {
        guard fd >= 0 else { return }
        Socket.close(fd)
        fd = -1
    }

    private func handshake(_ tls: TLSSession, deadline: ContinuousClock.Instant) throws {
        while true {
            let done = try tls.handshake()
            var output: [UInt8] = []
            tls.takeOutput(into: &output)
            try writeAll(output, deadline: deadline)
            if done { return }
            guard try readSome(deadline: deadline) else {
                throw TLSError(code: "tls.handshake", reason: "server closed the connection during the handshake")
            }
        }
    }

    /// Writes all requests, then reads responses; keeps reading while writing so a server
    /// that answers early never deadlocks against a long pipeline.
    func exchange(_ requests: [HTTPRequest], hostHeader: String, deadline: ContinuousClock.Instant) throws -> [HTTPResponse] {
        receivedAnyBytes = false
        var plaintext: [UInt8] = []
        for request in requests { plaintext += try request.serialized(host: hostHeader) }
        var outbound: [UInt8]
        if let tls {
            try tls.write(plaintext)
            outbound = []
            tls.takeOutput(into: &outbound)
        } else {
            outbound = plaintext
        }
        var offset = 0
        var responses: [HTTPResponse] = []
        while responses.count < requests.count {
            // Answers already buffered (from an earlier read) come first.
            while responses.count < requests.count,
                  let response = try parser.nextResponse(for: requests[responses.count].method) {
                responses.append(response)
            }
            if responses.count == requests.count { break }
            if sawEndOfFile {
                if let response = try parser.finish(for: requests[responses.count].method) {
                    responses.append(response)
                    continue
                }
                throw HTTPClientError.closed
            }
            let wantWrite = offset < outbound.count
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN) | (wantWrite ? Int16(POLLOUT) : 0), revents: 0)
            let remaining = deadline - .now
            guard remaining > .zero else { throw HTTPClientError.timeout }
            let milliseconds = Int32(min(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1, 60_000))
            let ready = try systemCall("poll") { poll(&descriptor, 1, milliseconds) }
            if ready == 0 { continue }
            if wantWrite && descriptor.revents & Int16(POLLOUT) != 0 {
                offset += try outbound.withUnsafeBytes { raw throws(SystemCallError) in
                    try Socket.write(fd, UnsafeRawBufferPointer(rebasing: raw[offset...]))
                }
            }
            if descriptor.revents & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0 {
                _ = try readSome(deadline: deadline, wait: false)
            }
        }
        return responses
    }

    /// Reads what is available (waiting first unless `wait` is false) into the TLS session
    /// or the parser. Returns false at end of file.
    @discardableResult
    private func readSome(deadline: ContinuousClock.Instant, wait: Bool = true) throws -> Bool {
        if wait {
            guard try Socket.wait(fd, events: Int16(POLLIN), until: deadline) else { throw HTTPClientError.timeout }
        }
        let result = try buffer.withUnsafeMutableBytes { raw throws(SystemCallError) in try Socket.read(fd, into: raw) }
        switch result {
        case .wouldBlock:
            return true
        case .endOfFile:
            sawEndOfFile = true
            if let tls, tls.isHandshakeComplete {
                // Decrypt whatever preceded the close (e.g. an alert saying why).
                var plaintext: [UInt8] = []
                _ = try tls.read(into: &plaintext)
                parser.append(plaintext)
            }
            return false
        case .bytes(let count):
            receivedAnyBytes = true
            if let tls {
                buffer.withUnsafeBytes { tls.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                if tls.isHandshakeComplete {
                    var plaintext: [UInt8] = []
                    if try !tls.read(into: &plaintext) { sawEndOfFile = true }
                    parser.append(plaintext)
                    var output: [UInt8] = []
                    tls.takeOutput(into: &output)  // key updates and the like
                    if !output.isEmpty { try writeAll(output, deadline: deadline) }
                }
            } else {
                parser.append(buffer[0..<count])
            }
            return true
        }
    }

    private func writeAll(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws {
        var offset = 0
        while offset < bytes.count {
            let written = try bytes.withUnsafeBytes { raw throws(SystemCallError) in
                try Socket.write(fd, UnsafeRawBufferPointer(rebasing: raw[offset...]))
            }
            offset += written
            if written == 0 {
                guard try Socket.wait(fd, events: Int16(POLLOUT), until: deadline) else { throw HTTPClientError.timeout }
            }
        }
    }
}
