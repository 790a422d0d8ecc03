/// Incremental, strict HTTP/1.1 request parser for the server. Feed it whatever bytes
/// arrived with `append`, then take complete requests with `nextRequest()` until it
/// returns nil. Pure: no I/O, no clocks; safe to fuzz.
public struct HTTPRequestParser: Sendable {
    private var core: HTTPMessageParser

    public init(limits: HTTPLimits = .default) {
        core = HTTPMessageParser(kind: .request, limits: limits)
    }

    /// Adds received bytes (any split of the stream parses the same).
    public mutating func append<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        core.append(bytes)
    }

    /// The next complete request, or nil when more bytes are needed. After a throw the
    /// parser stays failed: answer with `error.response` and close the connection.
    public mutating func nextRequest() throws(HTTPParseError) -> HTTPRequest? {
        guard let message = try core.next() else { return nil }
        guard case .request(let method, let target, let version) = message.startLine else { return nil }
        return HTTPRequest(method: method, target: target, version: version,
                           headers: message.headers, body: message.body, trailers: message.trailers)
    }

    /// Whether the current message is idle, in its head or in its body.
    public var progress: HTTPParseProgress { core.progress }

    /// Bytes received but not yet consumed (the start of the next pipelined request).
    public var bufferedByteCount: Int { core.bufferedByteCount }

    /// True once when a complete head carried `Expect: 100-continue` and its body is still
    /// to come; the server then sends `100 Continue`.
    public mutating func takeContinueRequest() -> Bool {
        defer { core.clearContinueRequest() }
        return core.continueRequested
    }

    /// Call at end of input: throws `http.truncated` when a request was cut off.
    public mutating func finish() throws(HTTPParseError) {
        _ = try core.finish()
    }
}
