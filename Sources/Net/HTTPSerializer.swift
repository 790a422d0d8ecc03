#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension HTTPResponse {
    /// The response on the wire as HTTP/1.1. Framing headers (`Content-Length`,
    /// `Transfer-Encoding`, `Connection`) are replaced by correct ones; `Date` is added when
    /// absent. A header name or value that could split the message (CR, LF, NUL, non-token
    /// name) makes the whole response a 500 problem instead, so no handler can inject.
    public func serialized(keepAlive: Bool, requestMethod: HTTPMethod = .get, date: String? = nil) -> [UInt8] {
        guard (100...999).contains(status), headers.allSatisfy(HTTPSerializer.isValidField) else {
            return HTTPResponse.problem(status: 500, code: "http.bad_response_header",
                                        reason: "handler produced an invalid response header")
                .serialized(keepAlive: false, requestMethod: requestMethod, date: date)
        }
        let reasonText = reason.utf8.allSatisfy(ASCII.isFieldValueChar) ? reason : ""
        var out: [UInt8] = []
        out.reserveCapacity(128 + body.count)
        out.append(contentsOf: "HTTP/1.1 \(status) \(reasonText)\r\n".utf8)
        for (name, value) in headers where !HTTPSerializer.isFramingField(name) {
            HTTPSerializer.appendField(name, value, to: &out)
        }
        if headers["date"] == nil {
            HTTPSerializer.appendField("Date", date ?? HTTPSerializer.httpDate(), to: &out)
        }
        let bodyForbidden = (100..<200).contains(status) || status == 204 || status == 304
        if !bodyForbidden {
            HTTPSerializer.appendField("Content-Length", String(body.count), to: &out)
        }
        if !keepAlive {
            HTTPSerializer.appendField("Connection", "close", to: &out)
        }
        out.append(contentsOf: [ASCII.cr, ASCII.lf])
        if !bodyForbidden && requestMethod != .head {
            out.append(contentsOf: body)
        }
        return out
    }
}

extension HTTPRequest {
    /// The request on the wire as HTTP/1.1 with a `Content-Length` framed body and a `Host`
    /// field added when absent. Throws when a header could split the message.
    public func serialized(host: String) throws(HTTPParseError) -> [UInt8] {
        guard headers.allSatisfy(HTTPSerializer.isValidField),
              !target.isEmpty, target.utf8.allSatisfy(ASCII.isTargetChar),
              method.rawValue.utf8.allSatisfy(ASCII.isTokenChar)
        else { throw HTTPSerializer.invalidRequest }
        var out: [UInt8] = []
        out.reserveCapacity(128 + body.count)
        out.append(contentsOf: "\(method.rawValue) \(target) HTTP/1.1\r\n".utf8)
        if headers["host"] == nil {
            HTTPSerializer.appendField("Host", host, to: &out)
        }
        for (name, value) in headers where !HTTPSerializer.isFramingField(name) || name.equalsIgnoringASCIICase("connection") {
            HTTPSerializer.appendField(name, value, to: &out)
        }
        if !body.isEmpty || method == .post || method == .put || method == .patch {
            HTTPSerializer.appendField("Content-Length", String(body.count), to: &out)
        }
        out.append(contentsOf: [ASCII.cr, ASCII.lf])
        out.append(contentsOf: body)
        return out
    }
}

enum HTTPSerializer {
    static let invalidRequest = HTTPParseError(status: 400, code: "http.bad_request_header",
                                               reason: "request has an invalid method, target or header")

    static func isValidField(_ field: (name: String, value: String)) -> Bool {
        !field.name.isEmpty && field.name.utf8.allSatisfy(ASCII.isTokenChar)
            && field.value.utf8.allSatisfy(ASCII.isFieldValueChar)
    }

    static func isFramingField(_ name: String) -> Bool {
        name.equalsIgnoringASCIICase("content-length") || name.equalsIgnoringASCIICase("transfer-encoding")
            || name.equalsIgnoringASCIICase("connection")
    }

    static func appendField(_ name: String, _ value: String, to out: inout [UInt8]) {
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: [ASCII.colon, ASCII.space])
        out.append(contentsOf: value.utf8)
        out.append(contentsOf: [ASCII.cr, ASCII.lf])
    }

    /// IMF-fixdate (RFC 9110 §5.6.7) for now, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 40)
        let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
