/// Incremental, strict HTTP/1.1 response parser for the client, with the same limits and
/// rules as `HTTPRequestParser`. Interim 1xx responses are skipped.
public struct HTTPResponseParser: Sendable {
    private var core: HTTPMessageParser

    public init(limits: HTTPLimits = .default) {
        core = HTTPMessageParser(kind: .response, limits: limits)
    }

    public mutating func append<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        core.append(bytes)
    }

    /// The next complete response, nil when more bytes are needed. `requestMethod` is the
    /// method of the request it answers: a response to HEAD has no body.
    public mutating func nextResponse(for requestMethod: HTTPMethod) throws(HTTPParseError) -> HTTPResponse? {
        core.responseToHead = requestMethod == .head
        return try core.next().flatMap(Self.response)
    }

    /// End of input: completes a close-delimited response, nil if nothing was pending,
    /// throws `http.truncated` when a response was cut off.
    public mutating func finish(for requestMethod: HTTPMethod) throws(HTTPParseError) -> HTTPResponse? {
        core.responseToHead = requestMethod == .head
        return try core.finish().flatMap(Self.response)
    }

    public var progress: HTTPParseProgress { core.progress }

    private static func response(_ message: HTTPMessageParser.Message) -> HTTPResponse? {
        guard case .response(let status, let reason, let version) = message.startLine else { return nil }
        return HTTPResponse(status: status, reason: reason, version: version,
                            headers: message.headers, body: message.body, trailers: message.trailers)
    }
}
