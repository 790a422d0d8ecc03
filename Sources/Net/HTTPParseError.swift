/// Why an HTTP message was refused: an HTTP status to answer with, a stable `code` for
/// problem reports and tests, and a fixed human `reason`. Never carries received bytes.
public struct HTTPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public let status: Int
    public let code: String
    public let reason: String

    public init(status: Int, code: String, reason: String) {
        self.status = status
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(status) \(code): \(reason)" }

    /// The problem-report response a server sends for this error (it then closes).
    public var response: HTTPResponse {
        HTTPResponse.problem(status: status, code: code, reason: reason)
    }

    static let badStartLine = HTTPParseError(status: 400, code: "http.bad_start_line", reason: "malformed start line")
    static let badMethod = HTTPParseError(status: 400, code: "http.bad_method", reason: "method is not a token")
    static let methodNotImplemented = HTTPParseError(status: 501, code: "http.method_not_implemented", reason: "method not implemented")
    static let badTarget = HTTPParseError(status: 400, code: "http.bad_target", reason: "malformed request-target")
    static let uriTooLong = HTTPParseError(status: 414, code: "http.uri_too_long", reason: "request-target longer than the limit")
    static let badVersion = HTTPParseError(status: 400, code: "http.bad_version", reason: "malformed HTTP version")
    static let versionNotSupported = HTTPParseError(status: 505, code: "http.version_not_supported", reason: "only HTTP/1.0 and HTTP/1.1 are supported")
    static let badStatus = HTTPParseError(status: 502, code: "http.bad_status", reason: "malformed status line")
    static let bareLF = HTTPParseError(status: 400, code: "http.bare_lf", reason: "line ends with LF without CR")
    static let bareCR = HTTPParseError(status: 400, code: "http.bare_cr", reason: "CR not followed by LF")
    static let obsFold = HTTPParseError(status: 400, code: "http.obs_fold", reason: "obsolete line folding is not accepted")
    static let badHeaderName = HTTPParseError(status: 400, code: "http.bad_header_name", reason: "header name is not a token")
    static let badHeaderValue = HTTPParseError(status: 400, code: "http.bad_header_value", reason: "header value has a forbidden character")
    static let headerTooLarge = HTTPParseError(status: 431, code: "http.header_too_large", reason: "header section larger than the limit")
    static let tooManyHeaders = HTTPParseError(status: 431, code: "http.too_many_headers", reason: "more header fields than the limit")
    static let missingHost = HTTPParseError(status: 400, code: "http.missing_host", reason: "HTTP/1.1 request without exactly one Host")
    static let badContentLength = HTTPParseError(status: 400, code: "http.bad_content_length", reason: "Content-Length is not a decimal number")
    static let duplicateContentLength = HTTPParseError(status: 400, code: "http.duplicate_content_length", reason: "more than one Content-Length")
    static let lengthAndChunked = HTTPParseError(status: 400, code: "http.length_and_transfer_encoding", reason: "both Content-Length and Transfer-Encoding (request smuggling)")
    static let unsupportedTransferCoding = HTTPParseError(status: 501, code: "http.unsupported_transfer_coding", reason: "only Transfer-Encoding: chunked is supported")
    static let transferEncodingInHTTP10 = HTTPParseError(status: 400, code: "http.transfer_encoding_http10", reason: "Transfer-Encoding in an HTTP/1.0 message")
    static let badChunk = HTTPParseError(status: 400, code: "http.bad_chunk", reason: "malformed chunked body")
    static let badTrailer = HTTPParseError(status: 400, code: "http.bad_trailer", reason: "framing field in trailer section")
    static let bodyTooLarge = HTTPParseError(status: 413, code: "http.body_too_large", reason: "body larger than the limit")
    static let expectationFailed = HTTPParseError(status: 417, code: "http.expectation_failed", reason: "only Expect: 100-continue is supported")
    static let truncated = HTTPParseError(status: 400, code: "http.truncated", reason: "connection closed inside a message")
}
