import Testing
import Foundation
import Glibc
import Synchronization
@testable import Net
import TestSupport

/// A handler for tests: echoes the method, path and peer identity; `/slow` sleeps.
let echoHandler: HTTPHandler = { request, context in
    if request.path == "/slow" { usleep(200_000) }
    if request.path == "/missing" { return .problem(status: 404, code: "test.not_found", reason: "no such path") }
    var response = HTTPResponse(status: 200, body: request.body.isEmpty
        ? Array("\(request.method) \(request.path)".utf8) : request.body)
    if let identity = context.peerIdentity { response.headers.add(name: "X-Peer", value: identity) }
    return response
}

/// A blocking raw TCP connection to 127.0.0.1 for tests that need exact bytes.
final class RawConnection {
    let fd: Int32

    init(port: Int) throws {
        fd = try Socket.connect(host: "127.0.0.1", port: port, timeout: .seconds(5))
    }

    deinit { Socket.close(fd) }

    func write(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = try bytes.withUnsafeBytes { raw throws(SystemCallError) in
                try Socket.write(fd, UnsafeRawBufferPointer(rebasing: raw[offset...]))
            }
            if n == 0 { _ = try Socket.wait(fd, events: Int16(POLLOUT), until: .now + .seconds(5)) }
            offset += n
        }
    }

    /// Reads one response (nil when the server closed without one).
    func readResponse(timeout: Duration = .seconds(5)) throws -> HTTPResponse? {
        var parser = HTTPResponseParser()
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        let deadline = ContinuousClock.now + timeout
        while true {
            if let response = try parser.nextResponse(for: .get) { return response }
            guard try Socket.wait(fd, events: Int16(POLLIN), until: deadline) else { return nil }
            let result = try buffer.withUnsafeMutableBytes { raw throws(SystemCallError) in try Socket.read(fd, into: raw) }
            switch result {
            case .endOfFile: return try parser.finish(for: .get)
            case .wouldBlock: continue
            case .bytes(let n): parser.append(buffer[0..<n])
            }
        }
    }

    /// Waits until the server closes the connection; returns how long that took, or nil.
    func waitForClose(timeout: Duration) throws -> Duration? {
        let start = ContinuousClock.now
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now - start < timeout {
            guard try Socket.wait(fd, events: Int16(POLLIN), until: start + timeout) else { return nil }
            do {
                let result = try buffer.withUnsafeMutableBytes { raw throws(SystemCallError) in try Socket.read(fd, into: raw) }
                if result == .endOfFile { return ContinuousClock.now - start }
            } catch {
                return ContinuousClock.now - start  // ECONNRESET
            }
        }
        return nil
    }
}

@Suite struct HTTPServerTests {
    static let fastTimeouts = HTTPTimeouts(header: .milliseconds(500), body: .milliseconds(500),
                                           idle: .seconds(5), write: .seconds(5))

    @Test func clientServerKeepAliveReuse() throws {
        let server = try HTTPServer.start(configuration: .init(), handler: echoHandler)
        defer { server.shutdown() }
        let client = try HTTPClient(configuration: .init(host: "127.0.0.1", port: server.port))
        for i in 0..<20 {
            let response = try client.send(HTTPRequest(method: .post, target: "/capture", body: Array("event \(i)".utf8)))
            #expect(response.status == 200)
            #expect(response.body == Array("event \(i)".utf8))
        }
        #expect(client.idleConnectionCount == 1)
        #expect(server.connectionCount == 1)
        #expect(try client.send(HTTPRequest(method: .get, target: "/missing")).status == 404)
    }

    @Test func pipelining() throws {
        let server = try HTTPServer.start(configuration: .init(), handler: echoHandler)
        defer { server.shutdown() }
        let client = try HTTPClient(configuration: .init(host: "127.0.0.1", port: server.port))
        let requests = (0..<200).map { HTTPRequest(method: .put, target: "/fed/v1/deltas/\($0)", body: Array("delta \($0)".utf8)) }
        let responses = try client.send(pipelined: requests)
        #expect(responses.count == 200)
        #expect(responses.enumerated().allSatisfy { $1.body == Array("delta \($0)".utf8) })
        #expect(server.connectionCount == 1)
    }

    @Test func oversizedBodyGets413() throws {
        let server = try HTTPServer.start(configuration: .init(limits: HTTPLimits(maxBodyBytes: 1024)), handler: echoHandler)
        defer { server.shutdown() }
        let client = try HTTPClient(configuration: .init(host: "127.0.0.1", port: server.port))
        let response = try client.send(HTTPRequest(method: .post, target: "/capture", body: Array(repeating: 65, count: 4096)))
        #expect(response.status == 413)
        #expect(String(decoding: response.body, as: UTF8.self).contains("http.body_too_large"))
        #expect(!response.keepAlive)
    }

    @Test func malformedGets400AndClose() throws {
        let server = try HTTPServer.start(configuration: .init(), handler: echoHandler)
        defer { server.shutdown() }
        let raw = try RawConnection(port: server.port)
        try raw.write("GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n")
        let response = try #require(try raw.readResponse())
        #expect(response.status == 400)
        #expect(String(decoding: response.body, as: UTF8.self).contains("http.bad_header_name"))
        #expect(try raw.waitForClose(timeout: .seconds(2)) != nil)
    }

    @Test func slowHeadersAreCutOff() throws {
        let server = try HTTPServer.start(configuration: .init(timeouts: Self.fastTimeouts), handler: echoHandler)
        defer { server.shutdown() }
        let raw = try RawConnection(port: server.port)
        try raw.write("GET / HTTP/1.1\r\nHost: a\r\n")  // never finishes the head
        let elapsed = try #require(try raw.waitForClose(timeout: .seconds(3)))
        #expect(elapsed >= .milliseconds(400))
        #expect(elapsed < .seconds(2))
        // A connection that sends nothing at all is cut off by the same clock.
        let silent = try RawConnection(port: server.port)
        #expect(try silent.waitForClose(timeout: .seconds(3)) != nil)
    }

    @Test func slowBodyIsCutOff() throws {
        let server = try HTTPServer.start(configuration: .init(timeouts: Self.fastTimeouts), handler: echoHandler)
        defer { server.shutdown() }
        let raw = try RawConnection(port: server.port)
        try raw.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        #expect(try raw.waitForClose(timeout: .seconds(3)) != nil)
    }

    @Test func expectContinue() throws {
        let server = try HTTPServer.start(configuration: .init(), handler: echoHandler)
        defer { server.shutdown() }
        let raw = try RawConnection(port: server.port)
        try raw.write("POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        // The response parser skips 1xx, so wait for the raw interim line instead.
        var buffer = [UInt8](repeating: 0, count: 64)
        _ = try Socket.wait(raw.fd, events: Int16(POLLIN), until: .now + .seconds(2))
        let result = try buffer.withUnsafeMutableBytes { raw2 throws(SystemCallError) in try Socket.read(raw.fd, into: raw2) }
        guard case .bytes(let n) = result else { Issue.record("no 100 Continue"); return }
        #expect(String(decoding: buffer[0..<n], as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
        try raw.write("ok")
        #expect(try raw.readResponse()?.body == Array("ok".utf8))
    }

    @Test func gracefulShutdownFinishesInFlight() throws {
        let server = try HTTPServer.start(configuration: .init(), handler: echoHandler)
        let busy = try RawConnection(port: server.port)
        let idle = try RawConnection(port: server.port)
        try idle.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try idle.readResponse()?.status == 200)
        try busy.write("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        usleep(50_000)
        let start = ContinuousClock.now
        server.shutdown(timeout: .seconds(5))
        #expect(ContinuousClock.now - start < .seconds(2))
        let response = try #require(try busy.readResponse())
        #expect(response.status == 200)
        #expect(!response.keepAlive)
        #expect(try idle.waitForClose(timeout: .seconds(1)) != nil)
        #expect(throws: SystemCallError.self) { try RawConnection(port: server.port) }
    }

    /// A handler that outlives the shutdown timeout loses its connection, but `shutdown`
    /// waits for it, and afterwards nothing of the server holds what the handler captured
    /// (a late response to a closed loop is dropped, not kept in a cycle).
    @Test func shutdownWaitsForAHandlerThatOutlivesTheTimeoutAndThenLetsGo() throws {
        final class Captured: Sendable {}
        final class Flag: Sendable { let value = Atomic<Bool>(false) }
        let started = DispatchSemaphore(value: 0)
        let finished = Flag()
        weak var weakCaptured: Captured?
        do {
            let captured = Captured()
            weakCaptured = captured
            let server = try HTTPServer.start(configuration: .init(), handler: { _, _ in
                withExtendedLifetime(captured) {
                    started.signal()
                    usleep(1_500_000)
                    finished.value.store(true, ordering: .sequentiallyConsistent)
                }
                return HTTPResponse(status: 200)
            })
            let busy = try RawConnection(port: server.port)
            try busy.write("GET /long HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(started.wait(timeout: .now() + 5) == .success)
            let start = ContinuousClock.now
            server.shutdown(timeout: .milliseconds(100))
            let handlerFinished = finished.value.load(ordering: .sequentiallyConsistent)
            #expect(handlerFinished, "shutdown returned while the handler still ran")
            #expect(ContinuousClock.now - start >= .milliseconds(1_000))
            // The connection was closed hard, without a response.
            #expect(try busy.readResponse(timeout: .seconds(2)) == nil)
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while weakCaptured != nil && ContinuousClock.now < deadline { usleep(10_000) }
        #expect(weakCaptured == nil, "what the handler captured is still held after shutdown")
    }

    /// The tests' dead port (TestSupport) refuses connections and no server can take it.
    @Test func aDeadPortRefusesAndCannotBeTaken() throws {
        let port = try deadLoopbackPort()
        #expect(throws: SystemCallError.self) { try RawConnection(port: port) }
        #expect(throws: SystemCallError.self) { try HTTPServer.start(configuration: .init(port: port), handler: echoHandler) }
    }

    @Test func plaintextOnlyOnLoopback() {
        // Refused before any socket is made, so no non-loopback address is ever bound.
        #expect(throws: TLSError.self) { try HTTPServer.start(configuration: .init(host: "0.0.0.0"), handler: echoHandler) }
    }

    @Test func thousandConcurrentKeepAliveConnections() throws {
        let server = try HTTPServer.start(configuration: .init(), handler: echoHandler)
        defer { server.shutdown() }
        let count = 1000
        let start = ContinuousClock.now
        var connections: [RawConnection] = []
        for _ in 0..<count { connections.append(try RawConnection(port: server.port)) }
        // Every connection is open at once; each sends two requests on the same socket.
        for round in 0..<2 {
            for connection in connections { try connection.write("GET /r\(round) HTTP/1.1\r\nHost: a\r\n\r\n") }
            var ok = 0
            for connection in connections where try connection.readResponse()?.status == 200 { ok += 1 }
            #expect(ok == count)
        }
        #expect(server.connectionCount == count)
        let elapsed = ContinuousClock.now - start
        print("1000 keep-alive connections x 2 requests: \(elapsed)")
        connections.removeAll()
    }
}
