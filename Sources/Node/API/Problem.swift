import Model
import Net

/// An error answer of the node's HTTP APIs: an RFC 9457 problem report with a stable `code`.
///
/// `type` is `urn:fedtrace:problem:<code>`, `title` the status's reason phrase, `detail` a
/// human sentence; `members` adds extension members (e.g. `event`, `field`, `line`) so a
/// client can point at the faulty part of what it sent without parsing `detail`.
public struct APIProblem: Error, Sendable, Equatable {
    public var status: Int
    public var code: String
    public var detail: String
    /// Extension members, written after the standard ones.
    public var members: JSONObject
    /// Extra response headers (e.g. `Allow` on 405, `WWW-Authenticate` on 401).
    public var headers: HTTPHeaders

    public init(status: Int, code: String, detail: String, members: JSONObject = [:], headers: HTTPHeaders = [:]) {
        self.status = status
        self.code = code
        self.detail = detail
        self.members = members
        self.headers = headers
    }

    /// The problem type URI, stable for each code.
    public var type: String { "urn:fedtrace:problem:" + code }
    /// The short summary: the status's reason phrase.
    public var title: String { HTTPResponse.standardReason(for: status) }

    /// The problem as a JSON object.
    public var json: JSONObject {
        var object: JSONObject = [
            "type": .string(type), "title": .string(title), "status": .number(String(status)),
            "detail": .string(detail), "code": .string(code),
        ]
        for member in members.members where object[member.key] == nil { object[member.key] = member.value }
        return object
    }

    /// The HTTP response carrying this problem (`application/problem+json`).
    public var response: HTTPResponse {
        var headers = self.headers
        headers.replaceOrAdd(name: "Content-Type", value: "application/problem+json")
        return HTTPResponse(status: status, headers: headers, body: JSONWriter.serialize(.object(json)))
    }

    /// 400 with a code and reason.
    public static func badRequest(_ code: String, _ detail: String, members: JSONObject = [:]) -> APIProblem {
        APIProblem(status: 400, code: code, detail: detail, members: members)
    }

    /// 404 with a code and reason.
    public static func notFound(_ code: String, _ detail: String) -> APIProblem {
        APIProblem(status: 404, code: code, detail: detail)
    }

    /// 500 for a failure of ours; the detail never carries the underlying error's text,
    /// which could hold data or SQL.
    public static func internalError(_ code: String, _ detail: String) -> APIProblem {
        APIProblem(status: 500, code: code, detail: detail)
    }
}

extension HTTPResponse {
    /// A JSON response (`application/json`) with `value` as the body.
    public static func json(_ value: JSONValue, status: Int = 200, headers: HTTPHeaders = [:]) -> HTTPResponse {
        var headers = headers
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        return HTTPResponse(status: status, headers: headers, body: JSONWriter.serialize(value))
    }
}
