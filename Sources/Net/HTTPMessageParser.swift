/// Where a parser stands within the current message; the server picks its timeout from it.
public enum HTTPParseProgress: Sendable, Hashable {
    /// Between messages with nothing buffered: the idle (keep-alive) clock runs.
    case idle
    /// Inside the start line or header section: the header clock runs.
    case head
    /// Inside the body: the body clock runs.
    case body
}

/// The shared HTTP/1.1 framing state machine behind `HTTPRequestParser` and
/// `HTTPResponseParser`: pure (bytes in, messages or an error out), incremental (any split
/// of the input gives the same result), and strict (RFC 9112; see docs/net.md).
struct HTTPMessageParser: Sendable {
    enum Kind: Sendable { case request, response }

    enum StartLine: Sendable {
        case request(method: HTTPMethod, target: String, version: HTTPVersion)
        case response(status: Int, reason: String, version: HTTPVersion)
    }

    struct Message: Sendable {
        var startLine: StartLine
        var headers: HTTPHeaders
        var body: [UInt8]
        var trailers: HTTPHeaders
    }

    private enum State: Sendable {
        case startLine
        case headers
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
    }

    let kind: Kind
    let limits: HTTPLimits

    private var buffer: [UInt8] = []
    /// First byte not yet consumed.
    private var index = 0
    /// Bytes in `index..<scanIndex` are known to hold no line end, so scanning resumes here.
    private var scanIndex = 0
    private var state = State.startLine
    private var failure: HTTPParseError?

    // The message under construction.
    private var headBytes = 0
    private var fieldCount = 0
    private var startLine: StartLine?
    private var headers = HTTPHeaders()
    private var trailers = HTTPHeaders()
    private var body: [UInt8] = []
    /// Set for a response to a HEAD request, whose head announces a body that never comes.
    var responseToHead = false
    /// Set when a request head asks for `100 Continue` before its body.
    private(set) var continueRequested = false

    /// The longest chunk-size line (size plus extensions) accepted.
    static let maxChunkLineLength = 4096

    init(kind: Kind, limits: HTTPLimits) {
        self.kind = kind
        self.limits = limits
    }

    var progress: HTTPParseProgress {
        switch state {
        case .startLine:
            return headBytes == 0 && index == buffer.count ? .idle : .head
        case .headers:
            return .head
        default:
            return .body
        }
    }

    var bufferedByteCount: Int { buffer.count - index }

    mutating func append<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        if index > 0 && (index == buffer.count || index >= 64 * 1024) {
            buffer.removeSubrange(0..<index)
            scanIndex -= index
            index = 0
        }
        buffer.append(contentsOf: bytes)
    }

    mutating func clearContinueRequest() { continueRequested = false }

    /// The next complete message, nil if more bytes are needed. After an error every call
    /// throws the same error: the connection must close.
    mutating func next() throws(HTTPParseError) -> Message? {
        if let failure { throw failure }
        do {
            return try step()
        } catch {
            failure = error
            throw error
        }
    }

    /// End of input: completes a close-delimited body, or reports a truncated message.
    mutating func finish() throws(HTTPParseError) -> Message? {
        if let failure { throw failure }
        if case .untilClose = state { return complete() }
        if progress == .idle { return nil }
        failure = .truncated
        throw .truncated
    }

    private mutating func step() throws(HTTPParseError) -> Message? {
        while true {
            switch state {
            case .startLine:
                let budget = limits.maxHeaderBytes - headBytes
                let (limit, error): (Int, HTTPParseError) =
                    kind == .request && limits.maxURILength + 64 < budget
                    ? (limits.maxURILength + 64, .uriTooLong) : (budget, .headerTooLarge)
                guard let line = try readLine(maxLength: limit, tooLong: error) else { return nil }
                headBytes += line.count + 2
                if headBytes > limits.maxHeaderBytes { throw .headerTooLarge }
                if line.isEmpty { continue }  // RFC 9112 §2.2: ignore empty lines before a start line
                startLine = try kind == .request ? parseRequestLine(line) : parseStatusLine(line)
                state = .headers

            case .headers, .trailers:
                let isTrailer: Bool
                if case .trailers = state { isTrailer = true } else { isTrailer = false }
                guard let line = try readLine(maxLength: limits.maxHeaderBytes - headBytes, tooLong: .headerTooLarge)
                else { return nil }
                headBytes += line.count + 2
                if headBytes > limits.maxHeaderBytes { throw .headerTooLarge }
                if line.isEmpty {
                    if isTrailer { return complete() }
                    if let message = try endOfHead() { return message }
                    continue
                }
                let (name, value) = try parseField(line)
                if isTrailer {
                    if name.equalsIgnoringASCIICase("content-length") || name.equalsIgnoringASCIICase("transfer-encoding")
                        || name.equalsIgnoringASCIICase("host") {
                        throw .badTrailer
                    }
                    trailers.add(name: name, value: value)
                } else {
                    headers.add(name: name, value: value)
                }

            case .fixedBody(let remaining):
                let take = min(remaining, buffer.count - index)
                if take > 0 {
                    body.append(contentsOf: buffer[index..<index + take])
                    index += take
                    scanIndex = index
                }
                if take == remaining { return complete() }
                state = .fixedBody(remaining: remaining - take)
                return nil

            case .chunkSize:
                guard let line = try readLine(maxLength: Self.maxChunkLineLength, tooLong: .badChunk) else { return nil }
                let size = try parseChunkSize(line)
                if size > limits.maxBodyBytes - body.count { throw .bodyTooLarge }
                state = size == 0 ? .trailers : .chunkData(remaining: size)

            case .chunkData(let remaining):
                let take = min(remaining, buffer.count - index)
                if take > 0 {
                    body.append(contentsOf: buffer[index..<index + take])
                    index += take
                    scanIndex = index
                }
                if take < remaining {
                    state = .chunkData(remaining: remaining - take)
                    return nil
                }
                state = .chunkDataEnd

            case .chunkDataEnd:
                guard buffer.count - index >= 2 else {
                    if buffer.count > index && buffer[index] != ASCII.cr { throw .badChunk }
                    return nil
                }
                guard buffer[index] == ASCII.cr && buffer[index + 1] == ASCII.lf else { throw .badChunk }
                index += 2
                scanIndex = index
                state = .chunkSize

            case .untilClose:
                let available = buffer.count - index
                if available > limits.maxBodyBytes - body.count { throw .bodyTooLarge }
                body.append(contentsOf: buffer[index...])
                index = buffer.count
                scanIndex = index
                return nil
            }
        }
    }

    // MARK: Lines

    /// The next line without its CRLF, consumed; nil when no full line is buffered yet.
    /// Only CRLF ends a line: a bare LF or a CR not followed by LF is an error.
    private mutating func readLine(maxLength: Int, tooLong: HTTPParseError) throws(HTTPParseError) -> Range<Int>? {
        var i = scanIndex
        let end = buffer.count
        while i < end {
            let byte = buffer[i]
            if byte == ASCII.lf {
                // A CR is only ever passed over when an LF follows it (below).
                guard i > index && buffer[i - 1] == ASCII.cr else { throw .bareLF }
                let line = index..<(i - 1)
                if line.count > maxLength { throw tooLong }
                index = i + 1
                scanIndex = index
                return line
            }
            if byte == ASCII.cr {
                if i + 1 == end { break }
                if buffer[i + 1] != ASCII.lf { throw .bareCR }
            }
            i += 1
        }
        scanIndex = i
        if scanIndex - index > maxLength { throw tooLong }
        return nil
    }

    // MARK: Start lines

    private func parseRequestLine(_ line: Range<Int>) throws(HTTPParseError) -> StartLine {
        // request-line = method SP request-target SP HTTP-version, exactly one SP each.
        guard let firstSpace = buffer[line].firstIndex(of: ASCII.space) else { throw .badStartLine }
        let methodBytes = buffer[line.lowerBound..<firstSpace]
        guard !methodBytes.isEmpty, methodBytes.count <= 32, methodBytes.allSatisfy(ASCII.isTokenChar) else {
            throw .badMethod
        }
        let rest = (firstSpace + 1)..<line.upperBound
        guard let secondSpace = buffer[rest].lastIndex(of: ASCII.space) else { throw .badStartLine }
        let targetBytes = buffer[rest.lowerBound..<secondSpace]
        if targetBytes.count > limits.maxURILength { throw .uriTooLong }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy(ASCII.isTargetChar) else { throw .badTarget }
        let version = try parseVersion(buffer[(secondSpace + 1)..<line.upperBound])

        let method = HTTPMethod(rawValue: String(decoding: methodBytes, as: UTF8.self))
        guard HTTPMethod.supported.contains(method) else { throw .methodNotImplemented }
        let target = String(decoding: targetBytes, as: UTF8.self)
        // origin-form, absolute-form (http/https), or asterisk-form for OPTIONS only.
        let isOriginForm = targetBytes.first == ASCII.slash
        let isAbsoluteForm = target.hasPrefix("http://") || target.hasPrefix("https://")
        let isAsteriskForm = target == "*" && method == .options
        guard isOriginForm || isAbsoluteForm || isAsteriskForm else { throw .badTarget }
        return .request(method: method, target: target, version: version)
    }

    private func parseStatusLine(_ line: Range<Int>) throws(HTTPParseError) -> StartLine {
        // status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ]; the last SP is tolerated missing.
        let bytes = buffer[line]
        guard bytes.count >= 12, bytes[line.lowerBound + 8] == ASCII.space else { throw .badStatus }
        let version: HTTPVersion
        do { version = try parseVersion(bytes.prefix(8)) } catch { throw .badStatus }
        let digits = bytes[(line.lowerBound + 9)..<(line.lowerBound + 12)]
        guard digits.allSatisfy(ASCII.isDigit) else { throw .badStatus }
        let status = digits.reduce(0) { $0 * 10 + Int($1 - ASCII.zero) }
        guard status >= 100 else { throw .badStatus }
        var reasonBytes = bytes[(line.lowerBound + 12)...]
        if let first = reasonBytes.first {
            guard first == ASCII.space else { throw .badStatus }
            reasonBytes = reasonBytes.dropFirst()
        }
        guard reasonBytes.allSatisfy(ASCII.isFieldValueChar) else { throw .badStatus }
        return .response(status: status, reason: String(decoding: reasonBytes, as: UTF8.self), version: version)
    }

    private func parseVersion(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPVersion {
        // HTTP-version = "HTTP/" DIGIT "." DIGIT (case-sensitive).
        guard bytes.count == 8, bytes.starts(with: ASCII.httpSlash) else { throw .badVersion }
        let major = bytes[bytes.startIndex + 5], dot = bytes[bytes.startIndex + 6], minor = bytes[bytes.startIndex + 7]
        guard ASCII.isDigit(major), dot == ASCII.dot, ASCII.isDigit(minor) else { throw .badVersion }
        let version = HTTPVersion(major: Int(major - ASCII.zero), minor: Int(minor - ASCII.zero))
        guard version == .http1_1 || version == .http1_0 else { throw .versionNotSupported }
        return version
    }

    // MARK: Fields

    private mutating func parseField(_ line: Range<Int>) throws(HTTPParseError) -> (String, String) {
        let first = buffer[line.lowerBound]
        if first == ASCII.space || first == ASCII.tab { throw .obsFold }
        fieldCount += 1
        if fieldCount > limits.maxHeaderCount { throw .tooManyHeaders }
        // field-line = field-name ":" OWS field-value OWS; no whitespace before the colon.
        guard let colon = buffer[line].firstIndex(of: ASCII.colon) else { throw .badHeaderName }
        let nameBytes = buffer[line.lowerBound..<colon]
        guard !nameBytes.isEmpty, nameBytes.allSatisfy(ASCII.isTokenChar) else { throw .badHeaderName }
        var valueStart = colon + 1, valueEnd = line.upperBound
        while valueStart < valueEnd, ASCII.isWhitespace(buffer[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart, ASCII.isWhitespace(buffer[valueEnd - 1]) { valueEnd -= 1 }
        let valueBytes = buffer[valueStart..<valueEnd]
        guard valueBytes.allSatisfy(ASCII.isFieldValueChar) else { throw .badHeaderValue }
        return (String(decoding: nameBytes, as: UTF8.self), String(decoding: valueBytes, as: UTF8.self))
    }

    /// Decides the body framing once the header section is complete (RFC 9112 §6.3). Returns
    /// the message when it has no body.
    private mutating func endOfHead() throws(HTTPParseError) -> Message? {
        guard let startLine else { throw .badStartLine }
        let version: HTTPVersion
        var bodyAllowed = true
        switch startLine {
        case .request(_, _, let v):
            version = v
            let hosts = headers.values(for: "host")
            if hosts.count > 1 || (v == .http1_1 && hosts.count != 1) { throw .missingHost }
        case .response(let status, _, let v):
            version = v
            if (100..<200).contains(status) {
                if status == 101 { throw .badStatus }  // no protocol upgrades
                reset()  // interim response: skip it and read the final one
                return nil
            }
            if status == 204 || status == 304 || responseToHead { bodyAllowed = false }
        }

        let transferEncodings = headers.values(for: "transfer-encoding")
        let contentLengths = headers.values(for: "content-length")
        if !transferEncodings.isEmpty && !contentLengths.isEmpty { throw .lengthAndChunked }
        if contentLengths.count > 1 { throw .duplicateContentLength }

        var framing = State.fixedBody(remaining: 0)
        if !transferEncodings.isEmpty {
            if version == .http1_0 { throw .transferEncodingInHTTP10 }
            let codings = transferEncodings.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
            guard codings.count == 1, codings[0].trimmingASCIIWhitespace().equalsIgnoringASCIICase("chunked") else {
                throw .unsupportedTransferCoding
            }
            framing = .chunkSize
        } else if let text = contentLengths.first {
            let digits = text.utf8
            guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy(ASCII.isDigit) else { throw .badContentLength }
            let length = digits.reduce(0) { $0 * 10 + Int($1 - ASCII.zero) }
            if bodyAllowed && length > limits.maxBodyBytes { throw .bodyTooLarge }
            framing = .fixedBody(remaining: length)
        } else if kind == .response {
            framing = .untilClose
        }
        if !bodyAllowed { framing = .fixedBody(remaining: 0) }

        if case .request = startLine, version == .http1_1, let expect = headers["expect"] {
            guard expect.equalsIgnoringASCIICase("100-continue") else { throw .expectationFailed }
            if case .fixedBody(let n) = framing, n == 0 {} else { continueRequested = true }
        }

        if case .fixedBody(let n) = framing {
            if n == 0 { return complete() }
            body.reserveCapacity(min(n, 1 << 20))
        }
        state = framing
        return nil
    }

    private func parseChunkSize(_ line: Range<Int>) throws(HTTPParseError) -> Int {
        // chunk-size [ chunk-ext ]; extensions are checked for forbidden bytes and ignored.
        var i = line.lowerBound
        var size = 0
        while i < line.upperBound, let digit = ASCII.hexValue(buffer[i]) {
            guard i - line.lowerBound < 15 else { throw .badChunk }
            size = size * 16 + Int(digit)
            i += 1
        }
        guard i > line.lowerBound else { throw .badChunk }
        var j = i
        while j < line.upperBound, ASCII.isWhitespace(buffer[j]) { j += 1 }
        if j < line.upperBound {
            guard buffer[j] == ASCII.semicolon, buffer[j..<line.upperBound].allSatisfy(ASCII.isFieldValueChar) else {
                throw .badChunk
            }
        } else if j > i {
            throw .badChunk  // whitespace after the size without an extension
        }
        return size
    }

    private mutating func complete() -> Message {
        let message = Message(startLine: startLine!, headers: headers, body: body, trailers: trailers)
        reset()
        return message
    }

    private mutating func reset() {
        state = .startLine
        headBytes = 0
        fieldCount = 0
        startLine = nil
        headers = HTTPHeaders()
        trailers = HTTPHeaders()
        body = []
        continueRequested = false
    }
}

/// Byte classes from RFC 9110 §5.6 and RFC 9112.
enum ASCII {
    static let cr: UInt8 = 13, lf: UInt8 = 10, space: UInt8 = 32, tab: UInt8 = 9
    static let colon = UInt8(ascii: ":"), semicolon = UInt8(ascii: ";"), slash = UInt8(ascii: "/")
    static let dot = UInt8(ascii: "."), zero = UInt8(ascii: "0")
    static let httpSlash = Array("HTTP/".utf8)

    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    static func isWhitespace(_ b: UInt8) -> Bool { b == space || b == tab }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }

    /// tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    static func isTokenChar(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }

    /// Request-target bytes: visible ASCII only (no SP, CTL or bytes ≥ 0x80; RFC 3986 chars).
    static func isTargetChar(_ b: UInt8) -> Bool { b > 0x20 && b < 0x7F }

    /// field-value bytes: VCHAR, obs-text, SP and HTAB; never CTL (NUL, CR, LF, DEL …).
    static func isFieldValueChar(_ b: UInt8) -> Bool { b == tab || (b >= 0x20 && b != 0x7F) }
}
