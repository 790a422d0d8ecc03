/// Size limits applied to every HTTP message Net reads, request or response. Each limit
/// turns into a fixed status when exceeded, so a peer learns which one it hit.
public struct HTTPLimits: Sendable, Hashable {
    /// Bytes of the start line plus all header fields plus the blank line (431 when over).
    public var maxHeaderBytes: Int
    /// Number of header fields, trailers included (431 when over).
    public var maxHeaderCount: Int
    /// Decoded body bytes, chunked or not (413 when over).
    public var maxBodyBytes: Int
    /// Bytes of the request-target (414 when over).
    public var maxURILength: Int

    public init(maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100,
                maxBodyBytes: Int = 8 * 1024 * 1024, maxURILength: Int = 8 * 1024) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.maxURILength = maxURILength
    }

    /// 16 KiB of headers, 100 fields, 8 MiB bodies, 8 KiB targets.
    public static let `default` = HTTPLimits()
}

/// Time limits for one connection; see docs/net.md for when each clock runs.
public struct HTTPTimeouts: Sendable, Hashable {
    /// From the connection's accept (TLS handshake included) or the first byte of a later
    /// request until its blank line after the headers.
    public var header: Duration
    /// From the end of the headers until the last body byte.
    public var body: Duration
    /// Keep-alive wait for the first byte of the next request.
    public var idle: Duration
    /// From queuing a response until its last byte left (also bounds a client's wait to send).
    public var write: Duration

    public init(header: Duration = .seconds(10), body: Duration = .seconds(30),
                idle: Duration = .seconds(60), write: Duration = .seconds(30)) {
        self.header = header
        self.body = body
        self.idle = idle
        self.write = write
    }

    public static let `default` = HTTPTimeouts()
}
