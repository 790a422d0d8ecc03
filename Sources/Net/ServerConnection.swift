#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One accepted connection, owned by one event loop: reads, TLS, parsing, dispatching to
/// the worker queue, writing, and its timeouts. Requests on a connection are answered one
/// at a time in order; pipelined requests wait in the parser's buffer.
final class ServerConnection: EventLoopChannel, @unchecked Sendable {
    // @unchecked: every stored property is touched only on `loop`'s thread. Worker threads
    // only carry the reference back into `loop.execute`.

    /// Which clock runs (docs/net.md, "Timeouts").
    enum Phase { case head, body, idle, handler, writing, lingering }

    let fd: Int32
    let remoteAddress: String
    let loop: EventLoop
    let shared: ServerShared
    private let tls: TLSSession?
    private var parser: HTTPRequestParser
    private var outbound: [UInt8] = []
    private var outboundOffset = 0
    private var inFlight = false
    private var closeAfterFlush = false
    private var peerClosed = false
    private var draining = false
    /// After the last response of a connection we close (error, `Connection: close`): our
    /// write side is shut and what the peer still sends is read and dropped for a moment,
    /// so closing with unread bytes does not reset the connection and destroy the response.
    private var lingering = false
    private var lingerBudget = 1 << 20
    private(set) var isClosed = false
    private var servedRequests = 0
    private var phase = Phase.head
    private var phaseStart = ContinuousClock.now
    private var interest: UInt32 = 0

    init(fd: Int32, remoteAddress: String, loop: EventLoop, shared: ServerShared) {
        self.fd = fd
        self.remoteAddress = remoteAddress
        self.loop = loop
        self.shared = shared
        self.parser = HTTPRequestParser(limits: shared.configuration.limits)
        self.tls = shared.tls.flatMap { try? TLSSession(context: $0) }
    }

    func open() {
        if shared.tls != nil && tls == nil {
            Socket.close(fd)  // cannot make an SSL object: out of memory, refuse the peer
            return
        }
        interest = Epoll.in | Epoll.readHangUp
        do {
            try loop.register(fd, events: interest, channel: self)
        } catch {
            Socket.close(fd)
            return
        }
        shared.connectionCount.add(1, ordering: .relaxed)
    }

    // MARK: Events

    func handle(events: UInt32) {
        // EPOLLERR and EPOLLHUP are reported even with no interest set: the peer is gone
        // for good, so nothing can be delivered and waiting would spin the loop.
        if events & (Epoll.error | Epoll.hangUp) != 0 { return close() }
        if lingering { return discardAvailable() }
        if events & Epoll.out != 0 { flush() }
        if !isClosed && events & (Epoll.in | Epoll.hangUp | Epoll.readHangUp) != 0 && canRead { readAvailable() }
        if !isClosed { updatePhase(now: .now) }
    }

    private var canRead: Bool { !inFlight && !closeAfterFlush && !peerClosed && outboundOffset == outbound.count }

    private func readAvailable() {
        var plaintext: [UInt8] = []
        var budget = 256 * 1024  // then yield to other connections; level-triggered epoll calls back
        while budget > 0 {
            let result: Socket.ReadResult
            do {
                result = try Socket.read(fd, into: loop.scratch)
            } catch {
                return close()
            }
            switch result {
            case .wouldBlock:
                budget = 0
            case .endOfFile:
                peerClosed = true
                budget = 0
            case .bytes(let count):
                budget -= count
                let bytes = UnsafeRawBufferPointer(rebasing: loop.scratch[0..<count])
                if let tls {
                    tls.feed(bytes)
                } else {
                    plaintext.append(contentsOf: bytes)
                }
            }
        }
        if let tls {
            do {
                if try tls.handshake() {
                    if try !tls.read(into: &plaintext) { peerClosed = true }
                }
            } catch {
                // Handshake refused (no/foreign/expired/revoked certificate, wrong
                // version) or a TLS record error: send OpenSSL's alert, then close.
                var alert: [UInt8] = []
                tls.takeOutput(into: &alert)
                alert.withUnsafeBytes { _ = try? Socket.write(fd, $0) }
                return close()
            }
            tls.takeOutput(into: &outbound)
        }
        parser.append(plaintext)
        processRequests()
        if !isClosed && outboundOffset < outbound.count { flush() }
        if !isClosed && peerClosed && !inFlight && outboundOffset == outbound.count {
            // The peer half-closed: a cut-off request gets no answer, a complete one was
            // dispatched above and will close after its response.
            close()
        }
    }

    /// Takes the next complete request from the parser, if the previous one is answered.
    private func processRequests() {
        guard !inFlight, !closeAfterFlush, outboundOffset == outbound.count, !isClosed else { return }
        do {
            if let request = try parser.nextRequest() {
                dispatch(request)
            } else if parser.takeContinueRequest() {
                queue(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
            }
        } catch {
            send(error.response, keepAlive: false, requestMethod: .get)
        }
    }

    private func dispatch(_ request: HTTPRequest) {
        inFlight = true
        setInterest(0)
        let context = RequestContext(peerIdentity: tls?.peerIdentity, peerCertificate: tls?.peerCertificate,
                                     remoteAddress: remoteAddress, isSecure: tls != nil)
        let handler = shared.handler
        let running = shared.handlersRunning
        running.enter()
        shared.workers.async { [self] in
            defer { running.leave() }
            let response: HTTPResponse
            do {
                response = try handler(request, context)
            } catch {
                response = .problem(status: 500, code: "net.handler_failed", reason: "the handler failed")
            }
            loop.execute { [self] in respond(to: request, with: response) }
        }
    }

    private func respond(to request: HTTPRequest, with response: HTTPResponse) {
        guard !isClosed else { return }
        inFlight = false
        servedRequests += 1
        let keepAlive = request.keepAlive && response.keepAlive && !draining && !peerClosed
            && !shared.isDraining.load(ordering: .relaxed)
        send(response, keepAlive: keepAlive, requestMethod: request.method)
        if !isClosed && canRead { setInterest(Epoll.in | Epoll.readHangUp) }
        if !isClosed { updatePhase(now: .now) }
    }

    private func send(_ response: HTTPResponse, keepAlive: Bool, requestMethod: HTTPMethod) {
        if !keepAlive { closeAfterFlush = true }
        queue(response.serialized(keepAlive: keepAlive, requestMethod: requestMethod))
    }

    private func queue(_ bytes: [UInt8]) {
        if let tls {
            do {
                try tls.write(bytes)
                if closeAfterFlush { tls.shutdown() }
                tls.takeOutput(into: &outbound)
            } catch {
                return close()
            }
        } else {
            outbound.append(contentsOf: bytes)
        }
        flush()
    }

    private func flush() {
        while outboundOffset < outbound.count {
            let written: Int
            do {
                written = try outbound.withUnsafeBytes { raw throws(SystemCallError) in
                    try Socket.write(fd, UnsafeRawBufferPointer(rebasing: raw[outboundOffset...]))
                }
            } catch {
                return close()
            }
            if written == 0 {
                setInterest(Epoll.out)
                return
            }
            outboundOffset += written
        }
        outbound.removeAll(keepingCapacity: outbound.capacity <= 64 * 1024)
        outboundOffset = 0
        if closeAfterFlush { return beginLingering() }
        if inFlight { return setInterest(0) }
        if peerClosed { return close() }
        setInterest(Epoll.in | Epoll.readHangUp)
        processRequests()  // a pipelined request may already be buffered
        if !isClosed && outboundOffset < outbound.count { flush() }
    }

    private func beginLingering() {
        lingering = true
        if (try? systemCall("shutdown") { Glibc.shutdown(fd, Int32(SHUT_WR)) }) == nil { return close() }
        setInterest(Epoll.in | Epoll.readHangUp)
        updatePhase(now: .now)
    }

    private func discardAvailable() {
        while lingerBudget > 0 {
            switch try? Socket.read(fd, into: loop.scratch) {
            case .bytes(let count)?: lingerBudget -= count
            case .wouldBlock?: return
            case .endOfFile?, nil: return close()
            }
        }
        close()
    }

    private func setInterest(_ events: UInt32) {
        guard events != interest, !isClosed else { return }
        interest = events
        do {
            try loop.modify(fd, events: events)
        } catch {
            close()
        }
    }

    // MARK: Timeouts and shutdown

    private func currentPhase() -> Phase {
        if lingering { return .lingering }
        if outboundOffset < outbound.count { return .writing }
        if inFlight { return .handler }
        if let tls, !tls.isHandshakeComplete { return .head }
        switch parser.progress {
        case .idle: return servedRequests == 0 ? .head : .idle  // the first request's clock starts at accept
        case .head: return .head
        case .body: return .body
        }
    }

    private func updatePhase(now: ContinuousClock.Instant) {
        let current = currentPhase()
        if current != phase {
            phase = current
            phaseStart = now
        }
        if draining && phase == .idle { close() }
    }

    func tick(now: ContinuousClock.Instant) {
        guard !isClosed else { return }
        updatePhase(now: now)
        let timeouts = shared.configuration.timeouts
        let limit: Duration? = switch phase {
        case .head: timeouts.header
        case .body: timeouts.body
        case .idle: timeouts.idle
        case .writing: timeouts.write
        case .lingering: min(timeouts.write, .milliseconds(500))
        case .handler: nil
        }
        if let limit, now - phaseStart > limit { close() }
    }

    /// Server shutdown: idle connections close now, busy ones after their response.
    func beginDraining() {
        draining = true
        updatePhase(now: .now)
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        loop.deregister(fd)
        Socket.close(fd)
        shared.connectionCount.subtract(1, ordering: .relaxed)
    }
}
