import Foundation
import Crypto
import Model
import Store

/// The EPCIS 2.0 query parameters `GET /events` understands, parsed from a query string
/// into an `EventQuery` plus paging. Comma-separated values mean "any of" (EPCIS); a
/// parameter we do not know is refused rather than ignored, so a misspelt filter never
/// silently widens the answer.
public struct EventQueryParameters: Sendable, Equatable {
    public var query = EventQuery()
    /// Events per page.
    public var perPage = EventQueryParameters.defaultPerPage
    /// The row to resume after, from `nextPageToken`.
    public var afterRowID: Int64?
    /// The filter parameters (everything except paging), canonical order, for tokens and links.
    public var filters: [(name: String, value: String)] = []

    public static let defaultPerPage = 100
    public static let maxPerPage = 10_000

    /// Parameters whose values are lists (comma-separated, repeatable).
    public static let listParameters: [String] = [
        "EQ_type", "EQ_action", "EQ_bizStep", "EQ_disposition", "EQ_readPoint", "EQ_bizLocation",
        "MATCH_epc", "MATCH_anyEPC", "MATCH_parentID",
    ]
    /// Parameters with one value.
    public static let scalarParameters: [String] = ["GE_eventTime", "LT_eventTime", "perPage", "nextPageToken"]

    public init() {}

    public static func == (lhs: EventQueryParameters, rhs: EventQueryParameters) -> Bool {
        lhs.query == rhs.query && lhs.perPage == rhs.perPage && lhs.afterRowID == rhs.afterRowID
            && lhs.filters.map(\.name) == rhs.filters.map(\.name) && lhs.filters.map(\.value) == rhs.filters.map(\.value)
    }

    /// Parses `query` (the part after `?`, possibly nil). Errors are 400 problems naming the parameter.
    public init(queryString: Substring?) throws(APIProblem) {
        var lists: [String: [String]] = [:]
        var scalars: [String: String] = [:]
        for (name, value) in try Self.pairs(queryString) {
            if Self.listParameters.contains(name) {
                let values = value.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: .whitespaces) }
                guard !values.contains(where: \.isEmpty) else {
                    throw Self.problem("query.bad_value", name, "'\(name)' has an empty value")
                }
                lists[name, default: []] += values
            } else if Self.scalarParameters.contains(name) {
                guard scalars[name] == nil else { throw Self.problem("query.repeated_parameter", name, "'\(name)' may appear once") }
                scalars[name] = value
            } else {
                throw Self.problem("query.unknown_parameter", name,
                                   "unknown query parameter '\(String(name.prefix(64)))'; supported: \((Self.listParameters + Self.scalarParameters).joined(separator: ", "))")
            }
        }
        for type in lists["EQ_type"] ?? [] where EPCISEventType(rawValue: type) == nil {
            throw Self.problem("query.bad_value", "EQ_type", "EQ_type '\(String(type.prefix(64)))' is not an EPCIS event type")
        }
        for action in lists["EQ_action"] ?? [] where !["ADD", "OBSERVE", "DELETE"].contains(action) {
            throw Self.problem("query.bad_value", "EQ_action", "EQ_action must be ADD, OBSERVE or DELETE")
        }
        query.types = lists["EQ_type"] ?? []
        query.actions = lists["EQ_action"] ?? []
        query.bizSteps = lists["EQ_bizStep"] ?? []
        query.dispositions = lists["EQ_disposition"] ?? []
        query.readPoints = lists["EQ_readPoint"] ?? []
        query.bizLocations = lists["EQ_bizLocation"] ?? []
        query.epcs = lists["MATCH_epc"] ?? []
        query.anyEPCs = lists["MATCH_anyEPC"] ?? []
        query.parentIDs = lists["MATCH_parentID"] ?? []
        func time(_ name: String) throws(APIProblem) -> Int64? {
            guard let text = scalars[name] else { return nil }
            guard let time = Timestamp.parse(text) else {
                throw Self.problem("query.bad_value", name, "\(name) must be an ISO 8601 time with a zone, e.g. 2026-01-31T00:00:00Z")
            }
            return time.epochMilliseconds
        }
        query.eventTimeFrom = try time("GE_eventTime")
        query.eventTimeBefore = try time("LT_eventTime")
        if let text = scalars["perPage"] {
            guard let n = Int(text), (1...Self.maxPerPage).contains(n) else {
                throw Self.problem("query.bad_value", "perPage", "perPage must be an integer from 1 to \(Self.maxPerPage)")
            }
            perPage = n
        }
        for name in Self.listParameters where lists[name] != nil {
            filters.append((name, lists[name]!.joined(separator: ",")))
        }
        for name in ["GE_eventTime", "LT_eventTime"] where scalars[name] != nil {
            filters.append((name, scalars[name]!))
        }
        if let token = scalars["nextPageToken"] {
            afterRowID = try decodeToken(token)
        }
    }

    /// The opaque token for "the page after row `rowID` of this query": it carries the row and
    /// a digest of the filters, so it cannot be replayed against a different query.
    public func nextPageToken(after rowID: Int64) -> String {
        let text = "v1.\(rowID).\(fingerprint)"
        return Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The query string of the next page (filters, perPage, token), percent-encoded.
    public func nextPageQuery(after rowID: Int64) -> String {
        var pairs = filters
        pairs.append(("perPage", String(perPage)))
        pairs.append(("nextPageToken", nextPageToken(after: rowID)))
        return pairs.map { "\($0.name)=\(Self.percentEncode($0.value))" }.joined(separator: "&")
    }

    var fingerprint: String {
        String(SHA256.hexHash(Array(filters.map { "\($0.name)=\($0.value)" }.joined(separator: "\n").utf8)).prefix(16))
    }

    func decodeToken(_ token: String) throws(APIProblem) -> Int64 {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard token.count <= 200, let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else {
            throw Self.problem("query.bad_page_token", "nextPageToken", "nextPageToken is not a token this node issued")
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let row = Int64(parts[1]), row >= 0 else {
            throw Self.problem("query.bad_page_token", "nextPageToken", "nextPageToken is not a token this node issued")
        }
        guard parts[2] == fingerprint else {
            throw Self.problem("query.bad_page_token", "nextPageToken", "nextPageToken belongs to a query with other filters; repeat the same filters with it")
        }
        return row
    }

    static func problem(_ code: String, _ parameter: String, _ detail: String) -> APIProblem {
        .badRequest(code, detail, members: ["parameter": .string(String(parameter.prefix(64)))])
    }

    /// `name=value` pairs of a query string, percent-decoded (`+` is a space).
    static func pairs(_ query: Substring?) throws(APIProblem) -> [(String, String)] {
        guard let query, !query.isEmpty else { return [] }
        var result: [(String, String)] = []
        for part in query.split(separator: "&") where !part.isEmpty {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String? { text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = decode(pieces[0]), let value = decode(pieces.count > 1 ? pieces[1] : "") else {
                throw APIProblem.badRequest("query.bad_encoding", "the query string is not valid percent-encoded UTF-8")
            }
            result.append((name, value))
        }
        return result
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    public static func percentEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
