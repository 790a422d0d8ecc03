#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Dispatch
import Synchronization

/// An HTTP/1.1 server over TLS 1.3 or plaintext: a few epoll event loops (one per core by
/// default) own every connection; handlers run on a worker queue and post their response
/// back. `start` binds before returning, so `port` is known at once.
public final class HTTPServer: Sendable {
    /// Where and how to listen.
    public struct Configuration: Sendable {
        /// An IPv4 or IPv6 literal. Defaults to loopback; the local API stays there.
        public var host: String
        /// 0 picks a free port; read it back from `HTTPServer.port`.
        public var port: Int
        /// nil serves plaintext (for the loopback local API only).
        public var tls: TLSConfiguration?
        public var limits: HTTPLimits
        public var timeouts: HTTPTimeouts
        /// Plaintext off loopback must be asked for explicitly; without it `start` refuses.
        public var allowsPlaintextOffLoopback: Bool
        /// Event-loop threads; defaults to the number of online cores.
        public var eventLoopCount: Int
        /// Connections beyond this are accepted and closed at once.
        public var maxConnections: Int
        public var backlog: Int32

        public init(host: String = "127.0.0.1", port: Int = 0, tls: TLSConfiguration? = nil,
                    limits: HTTPLimits = .default, timeouts: HTTPTimeouts = .default,
                    eventLoopCount: Int = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))),
                    maxConnections: Int = 10_000, backlog: Int32 = 1024, allowsPlaintextOffLoopback: Bool = false) {
            self.allowsPlaintextOffLoopback = allowsPlaintextOffLoopback
            self.host = host
            self.port = port
            self.tls = tls
            self.limits = limits
            self.timeouts = timeouts
            self.eventLoopCount = eventLoopCount
            self.maxConnections = maxConnections
            self.backlog = backlog
        }
    }

    /// The bound port (the real one when configured with 0).
    public let port: Int
    public let configuration: Configuration
    let shared: ServerShared
    private let loops: [EventLoop]
    private let listenFD: Int32
    private let stopped = Mutex(false)

    /// Binds, starts the event loops and returns. Throws `SystemCallError` for socket
    /// failures and `TLSError` for an unusable certificate, key, roots or CRL.
    public static func start(configuration: Configuration, handler: @escaping HTTPHandler) throws -> HTTPServer {
        try HTTPServer(configuration: configuration, handler: handler)
    }

    private init(configuration: Configuration, handler: @escaping HTTPHandler) throws {
        let loopback = configuration.host == "localhost" || configuration.host == "::1" || configuration.host == "[::1]"
            || configuration.host.hasPrefix("127.")
        if configuration.tls == nil && !loopback && !configuration.allowsPlaintextOffLoopback {
            throw TLSError(code: "tls.required", reason: "plaintext is only served on loopback; configure TLS for \(configuration.host)")
        }
        let tlsContext = try configuration.tls.map { configuration throws(TLSError) in
            try TLSContext(configuration: configuration, role: .server)
        }
        let (fd, port) = try Socket.makeListener(host: configuration.host, port: configuration.port,
                                                 backlog: configuration.backlog)
        self.listenFD = fd
        self.port = port
        self.configuration = configuration
        self.shared = ServerShared(configuration: configuration, tls: tlsContext, handler: handler)

        let shortest = [configuration.timeouts.header, configuration.timeouts.body,
                        configuration.timeouts.idle, configuration.timeouts.write].min()!
        let tick = min(max(shortest / 10, .milliseconds(10)), .milliseconds(250))
        var loops: [EventLoop] = []
        do {
            for i in 0..<max(1, configuration.eventLoopCount) {
                let loop = try EventLoop(name: "fedtrace-net-\(i)", tickInterval: tick)
                // EPOLLEXCLUSIVE: a new connection wakes one loop, not all of them.
                try loop.register(fd, events: Epoll.in | Epoll.exclusive,
                                  channel: Listener(fd: fd, loop: loop, shared: shared))
                loops.append(loop)
            }
        } catch {
            Socket.close(fd)
            throw error
        }
        self.loops = loops
        for loop in loops { loop.start() }
    }

    /// Open connections across all loops.
    public var connectionCount: Int { shared.connectionCount.load(ordering: .relaxed) }

    /// Graceful shutdown (for SIGTERM): stop accepting, close idle connections, let
    /// in-flight requests finish and answer them with `Connection: close`, then return.
    /// Connections still open after `timeout` are closed hard. Idempotent.
    ///
    /// Returns only once no handler of this server is running: a handler cannot be
    /// interrupted, so one that outlives `timeout` loses its connection but is waited for
    /// (its own work, such as an outbound request, has its own timeouts). What the handler
    /// holds (a node, its store) is therefore free for the caller to release.
    public func shutdown(timeout: Duration = .seconds(30)) {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        shared.isDraining.store(true, ordering: .relaxed)
        let listenersRemoved = DispatchGroup()
        for loop in loops {
            listenersRemoved.enter()
            loop.execute { [listenFD] in
                loop.deregister(listenFD)
                loop.forEachChannel { ($0 as? ServerConnection)?.beginDraining() }
                loop.exitWhenEmpty = true
                listenersRemoved.leave()
            }
        }
        listenersRemoved.wait()
        Socket.close(listenFD)
        let deadline = ContinuousClock.now + timeout
        for loop in loops where !loop.waitUntilFinished(timeout: max(deadline - .now, .zero)) {
            loop.execute {
                loop.forEachChannel { ($0 as? ServerConnection)?.close() }
            }
            _ = loop.waitUntilFinished(timeout: .seconds(5))
        }
        shared.handlersRunning.wait()
    }
}

/// What every connection of one server shares. Immutable but for the atomics.
final class ServerShared: Sendable {
    let configuration: HTTPServer.Configuration
    let tls: TLSContext?
    let handler: HTTPHandler
    let workers = DispatchQueue(label: "fedtrace.net.handlers", attributes: .concurrent)
    let connectionCount = Atomic<Int>(0)
    let isDraining = Atomic<Bool>(false)
    /// Entered when a request goes to the handler, left when the handler has returned.
    let handlersRunning = DispatchGroup()

    init(configuration: HTTPServer.Configuration, tls: TLSContext?, handler: @escaping HTTPHandler) {
        self.configuration = configuration
        self.tls = tls
        self.handler = handler
    }
}

/// The listening socket as seen by one loop: accepts and registers connections there.
final class Listener: EventLoopChannel {
    let fd: Int32
    unowned let loop: EventLoop
    let shared: ServerShared
    private var paused = false

    init(fd: Int32, loop: EventLoop, shared: ServerShared) {
        self.fd = fd
        self.loop = loop
        self.shared = shared
    }

    func handle(events: UInt32) {
        for _ in 0..<64 {  // bounded, so one loop cannot starve its connections
            let accepted: (fd: Int32, peer: String)?
            do {
                accepted = try Socket.accept(fd)
            } catch {
                // EMFILE/ENFILE and the like: stop polling the listener until the next tick,
                // otherwise level-triggered epoll would spin.
                pause()
                return
            }
            guard let (connectionFD, peer) = accepted else { return }
            if shared.connectionCount.load(ordering: .relaxed) >= shared.configuration.maxConnections {
                Socket.close(connectionFD)
                continue
            }
            let connection = ServerConnection(fd: connectionFD, remoteAddress: peer, loop: loop, shared: shared)
            connection.open()
        }
    }

    func tick(now: ContinuousClock.Instant) {
        guard paused, !shared.isDraining.load(ordering: .relaxed) else { return }
        paused = false
        try? Epoll.control(loop.epollFD, Epoll.add, fd, events: Epoll.in | Epoll.exclusive)
    }

    /// Takes the listener out of epoll (it stays a channel, so it still ticks).
    private func pause() {
        paused = true
        try? Epoll.control(loop.epollFD, Epoll.delete, fd, events: 0)
    }
}
