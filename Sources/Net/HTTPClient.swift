#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Why a client exchange failed, beyond socket, TLS and parse errors.
public struct HTTPClientError: Error, Sendable, Hashable, CustomStringConvertible {
    public let code: String
    public let reason: String

    public var description: String { "\(code): \(reason)" }

    static let timeout = HTTPClientError(code: "http_client.timeout", reason: "no complete response before the deadline")
    static let closed = HTTPClientError(code: "http_client.closed", reason: "server closed the connection before responding")
}

/// A blocking HTTP/1.1 client for one server (`host:port`), over TLS 1.3 (mutual when the
/// configuration has a certificate) or plaintext. Keeps up to `maxIdleConnections`
/// keep-alive connections and reuses them; safe to call from many threads at once (each
/// call uses its own connection). Responses obey the same `HTTPLimits` as requests.
public final class HTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// An IPv4 or IPv6 literal, or `localhost`.
        public var host: String
        public var port: Int
        /// nil for plaintext (loopback local API only).
        public var tls: TLSConfiguration?
        public var limits: HTTPLimits
        public var connectTimeout: Duration
        /// Bound on one `send` call: writing the requests and reading every response.
        public var requestTimeout: Duration
        /// Idle keep-alive connections kept for reuse.
        public var maxIdleConnections: Int

        public init(host: String, port: Int, tls: TLSConfiguration? = nil, limits: HTTPLimits = .default,
                    connectTimeout: Duration = .seconds(10), requestTimeout: Duration = .seconds(30),
                    maxIdleConnections: Int = 4) {
            self.host = host
            self.port = port
            self.tls = tls
            self.limits = limits
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.maxIdleConnections = maxIdleConnections
        }
    }

    public let configuration: Configuration
    private let tls: TLSContext?
    private let idle = Mutex<[ClientConnection]>([])

    /// Builds the TLS context up front, so a bad certificate path fails here, not per request.
    public init(configuration: Configuration) throws {
        self.configuration = configuration
        self.tls = try configuration.tls.map { configuration throws(TLSError) in
            try TLSContext(configuration: configuration, role: .client)
        }
    }

    deinit { closeIdleConnections() }

    /// Sends one request and returns its response.
    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        try send(pipelined: [request])[0]
    }

    /// Sends several requests back to back on one connection without waiting (HTTP/1.1
    /// pipelining) and returns the responses in order. The server answers them one at a
    /// time, but the round trips overlap. For many in flight at once, call this from
    /// several threads: each call gets its own connection.
    public func send(pipelined requests: [HTTPRequest]) throws -> [HTTPResponse] {
        guard !requests.isEmpty else { return [] }
        let reused = idle.withLock { $0.popLast() }
        if let reused {
            do {
                return try exchange(requests, on: reused)
            } catch let error where !reused.receivedAnyBytes && requests.allSatisfy(\.method.isIdempotent) {
                // The server closed an idle keep-alive connection as we reused it: retry once.
                _ = error
            }
        }
        let connection = try ClientConnection(configuration: configuration, tls: tls)
        return try exchange(requests, on: connection)
    }

    /// Closes every pooled connection.
    public func closeIdleConnections() {
        let connections = idle.withLock { pool in
            defer { pool.removeAll() }
            return pool
        }
        for connection in connections { connection.close() }
    }

    /// The number of pooled keep-alive connections.
    public var idleConnectionCount: Int { idle.withLock { $0.count } }

    private func exchange(_ requests: [HTTPRequest], on connection: ClientConnection) throws -> [HTTPResponse] {
        let responses: [HTTPResponse]
        do {
            responses = try connection.exchange(requests, hostHeader: hostHeader,
                                                deadline: .now + configuration.requestTimeout)
        } catch {
            connection.close()
            throw error
        }
        if connection.isReusable && responses.last?.keepAlive == true {
            let kept = idle.withLock { pool in
                guard pool.count < configuration.maxIdleConnections else { return false }
                pool.append(connection)
                return true
            }
            if !kept { connection.close() }
        } else {
            connection.close()
        }
        return responses
    }

    private var hostHeader: String {
        let host = configuration.host.contains(":") && !configuration.host.hasPrefix("[")
            ? "[\(configuration.host)]" : configuration.host
        return "\(host):\(configuration.port)"
    }
}
