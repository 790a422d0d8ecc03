import Foundation
import Crypto
import Model
import Net
import Store

/// The local API (DESIGN §8): EPCIS 2.0 capture and query, trace, status, health, metrics
/// and the OpenAPI document, for the national system and officers.
///
/// Every answer, including every error, is JSON; errors are RFC 9457 problem reports with a
/// stable `code`. A rejected request changes nothing: capture stores a document whole in
/// one durable transaction, or not at all.
public final class LocalAPI: Sendable {
    public let node: OpenNode
    public let metrics: MetricsRegistry
    /// SHA-256 of the bearer token every request must carry, or nil for no token check.
    let tokenDigest: [UInt8]?
    /// The routes, in the order they are matched.
    public let router: Router
    /// The metrics label of this listener.
    public static let listenerName = "api"

    /// `bearerToken`: when set, every request needs `Authorization: Bearer <token>`.
    public init(node: OpenNode, metrics: MetricsRegistry = MetricsRegistry(), bearerToken: String? = nil) {
        self.node = node
        self.metrics = metrics
        self.tokenDigest = bearerToken.map { SHA256.hash(Array($0.utf8)) }
        let capture = CaptureService(node: node)
        let node = node
        router = Router(routes: [
            Route(.post, "/capture") { request throws(APIProblem) in try Self.capture(request, service: capture) },
            Route(.get, "/events") { request throws(APIProblem) in try Self.events(request, node: node) },
            Route(.get, "/events/{eventHashID}") { request throws(APIProblem) in try Self.event(request, node: node) },
            Route(.get, "/trace/{uim}") { request throws(APIProblem) in try Self.trace(request, node: node) },
            Route(.get, "/status") { _ throws(APIProblem) in
                do { return .json(.object(try node.statusReport())) } catch { throw APIProblem.internalError("store.unavailable", "the store did not answer") }
            },
            Route(.get, "/health") { _ throws(APIProblem) in
                do {
                    _ = try node.store.setting("party")
                    return .json(.object(["status": "ok"]))
                } catch {
                    throw APIProblem(status: 503, code: "health.store_unavailable", detail: "the store did not answer")
                }
            },
            Route(.get, "/metrics") { [metrics] _ throws(APIProblem) in
                var gauges: [MetricsRegistry.Gauge] = []
                if let counts = try? node.store.eventCounts(localOrigin: node.configuration.party.urn) {
                    gauges = [
                        .init(name: "fedtrace_events_stored", help: "Events in the store (captured here and received).", value: Double(counts.events)),
                        .init(name: "fedtrace_events_local", help: "Events captured at this node.", value: Double(counts.localEvents)),
                        .init(name: "fedtrace_audit_records", help: "Records in the hash-chained audit log.", value: Double(counts.auditRecords)),
                    ]
                }
                gauges.append(.init(name: "fedtrace_store_up", help: "1 when the store answered this scrape.", value: gauges.isEmpty ? 0 : 1))
                if let sync = try? node.syncReport() { gauges += Self.syncGauges(sync) }
                if let enquiries = try? node.enquiryReport() { gauges += Self.enquiryGauges(enquiries) }
                return HTTPResponse(status: 200, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                                    body: Array(metrics.exposition(gauges: gauges).utf8))
            },
            Route(.get, "/openapi.json") { _ throws(APIProblem) in
                HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: Array(OpenAPIDocument.json.utf8))
            },
        ] + EnquiryAPI.localRoutes(node: node))
    }

    /// Replication gauges from `OpenNode.syncReport()`, grouped by metric name.
    static func syncGauges(_ report: JSONObject) -> [MetricsRegistry.Gauge] {
        func number(_ o: JSONObject, _ key: String) -> Double { o[key].flatMap { if case .number(let n) = $0 { Double(n) } else { nil } } ?? 0 }
        func text(_ o: JSONObject, _ key: String) -> String { o[key]?.stringValue ?? "" }
        let outbound = (report["outbound"]?.arrayValue ?? []).compactMap(\.objectValue)
        let inbound = (report["inbound"]?.arrayValue ?? []).compactMap(\.objectValue)
        let peers = (report["peers"]?.arrayValue ?? []).compactMap(\.objectValue)
        var gauges: [MetricsRegistry.Gauge] = []
        for position in ["created", "sent", "acknowledged"] {
            for o in outbound {
                gauges.append(.init(name: "fedtrace_sync_outbound_sequence", help: "Highest delta sequence of an outbound stream, by recipient and position (created, sent, acknowledged).",
                                    value: number(o, position), labels: [("stream", text(o, "stream")), ("recipient", text(o, "recipient")), ("position", position)]))
            }
        }
        for o in outbound {
            gauges.append(.init(name: "fedtrace_sync_outbound_lag_events", help: "Events cut into deltas a recipient has not acknowledged.",
                                value: number(o, "lagEvents"), labels: [("stream", text(o, "stream")), ("recipient", text(o, "recipient"))]))
        }
        for o in outbound {
            gauges.append(.init(name: "fedtrace_sync_outbound_error", help: "1 when the last push of a stream to a recipient failed or was refused.",
                                value: o["lastError"] == .null ? 0 : 1, labels: [("stream", text(o, "stream")), ("recipient", text(o, "recipient"))]))
        }
        for o in inbound {
            gauges.append(.init(name: "fedtrace_sync_inbound_sequence", help: "Highest delta sequence applied contiguously on an inbound stream.",
                                value: number(o, "received"), labels: [("stream", text(o, "stream")), ("origin", text(o, "origin"))]))
        }
        for o in inbound {
            gauges.append(.init(name: "fedtrace_sync_inbound_stopped", help: "1 when an inbound stream stopped on a broken hash chain.",
                                value: o["stopped"] == .null ? 0 : 1, labels: [("stream", text(o, "stream")), ("origin", text(o, "origin"))]))
        }
        for o in peers {
            gauges.append(.init(name: "fedtrace_sync_peer_up", help: "1 when the last exchange with a peer succeeded.",
                                value: o["lastError"] == .null && o["lastSeen"] != .null ? 1 : 0, labels: [("peer", text(o, "party"))]))
        }
        for o in (report["mailboxes"]?.arrayValue ?? []).compactMap(\.objectValue) {
            gauges.append(.init(name: "fedtrace_relay_mailbox_entries", help: "Relayed messages waiting at this hub for a recipient to pull them.",
                                value: number(o, "entries"), labels: [("recipient", text(o, "recipient"))]))
        }
        gauges.append(.init(name: "fedtrace_sync_rejected_recent", help: "Deltas refused here among the newest ten kept for status.",
                            value: Double(report["rejected"]?.arrayValue?.count ?? 0)))
        return gauges
    }

    /// Enquiry gauges from `OpenNode.enquiryReport()`: by role (sent, received) and shown
    /// status, and the outbox by kind. An officer's queue is `role="received",status="pending"`.
    static func enquiryGauges(_ report: JSONObject) -> [MetricsRegistry.Gauge] {
        var gauges: [MetricsRegistry.Gauge] = []
        for role in ["sent", "received"] {
            for member in report[role]?.objectValue?.members ?? [] {
                guard case .number(let n) = member.value, let value = Double(n) else { continue }
                gauges.append(.init(name: "fedtrace_enquiries", help: "Enquiries this node sent or received, by shown status (pending: waiting for an officer here; overdue: past the deadline).",
                                    value: value, labels: [("role", role), ("status", member.key)]))
            }
        }
        for o in (report["outbox"]?.arrayValue ?? []).compactMap(\.objectValue) {
            let kind = o["kind"]?.stringValue ?? ""
            for key in ["waiting", "failing"] {
                guard case .number(let n)? = o[key], let value = Double(n) else { continue }
                gauges.append(.init(name: "fedtrace_enquiry_outbox", help: "Enquiries and answers not yet accepted by their recipient or a hub (failing: at least one attempt failed).",
                                    value: value, labels: [("kind", kind), ("state", key)]))
            }
        }
        return gauges
    }

    /// The `HTTPHandler` for `HTTPServer`: authenticates, routes, records metrics. Never throws.
    public func handle(_ request: HTTPRequest, _ context: RequestContext) -> HTTPResponse {
        let started = ContinuousClock.now
        var route = Router.unmatchedRoute
        let response: HTTPResponse
        if let problem = authenticate(request) {
            response = problem.response
        } else {
            (response, route) = router.respond(to: request, context: context)
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        metrics.record(listener: Self.listenerName, route: route, method: request.method.rawValue, status: response.status, seconds: seconds)
        return response
    }

    /// Nil when the request may proceed; a 401 otherwise. The token is compared by digest in
    /// constant time and never logged or echoed.
    func authenticate(_ request: HTTPRequest) -> APIProblem? {
        guard let tokenDigest else { return nil }
        let challenge: HTTPHeaders = ["WWW-Authenticate": "Bearer realm=\"fedtrace\""]
        guard let header = request.headers["Authorization"], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            return APIProblem(status: 401, code: "auth.required", detail: "this API needs 'Authorization: Bearer <token>'", headers: challenge)
        }
        let presented = SHA256.hash(Array(header.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8))
        var difference: UInt8 = 0
        for (a, b) in zip(presented, tokenDigest) { difference |= a ^ b }
        guard difference == 0 else {
            return APIProblem(status: 401, code: "auth.invalid_token", detail: "the bearer token is not valid for this node", headers: challenge)
        }
        return nil
    }

    // MARK: - Capture

    static let captureMediaTypes: Set<String> = ["application/json", "application/ld+json"]

    static func capture(_ request: APIRequest, service: CaptureService) throws(APIProblem) -> HTTPResponse {
        let mediaType = request.http.headers["Content-Type"]?.split(separator: ";").first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard captureMediaTypes.contains(mediaType) else {
            throw APIProblem(status: 415, code: "capture.unsupported_media_type",
                             detail: "send an EPCIS 2.0 document as application/json or application/ld+json",
                             headers: ["Accept-Post": "application/json, application/ld+json"])
        }
        guard !request.http.body.isEmpty else {
            throw APIProblem.badRequest("capture.empty", "the request body is empty; send an EPCIS 2.0 document", members: ["document": "request body"])
        }
        let source = "request body"
        let actor = request.context.peerIdentity ?? "local-api"
        do {
            let (result, _) = try service.store(bytes: request.http.body, source: source, actor: actor)
            return .json(.object([
                "captured": .number(String(result.captured)), "duplicates": .number(String(result.duplicates)),
                "eventHashIDs": .array(result.eventHashIDs.map(JSONValue.string)),
                "capturedEventHashIDs": .array(result.capturedIDs.map(JSONValue.string)),
                "duplicateEventHashIDs": .array(result.duplicateIDs.map(JSONValue.string)),
            ]))
        } catch {
            switch error.code {
            case "capture.too-large":
                throw APIProblem(status: 413, code: "capture.too_large", detail: error.reason)
            case "capture.store":
                throw APIProblem.internalError("capture.not_stored", "the store refused the document; nothing was stored")
            default:
                throw APIProblem.badRequest(error.code, error.reason, members: location(of: error.reason, document: source))
            }
        }
    }

    /// Extension members locating a parser error: `document`, and `event`, `field`, `line`,
    /// `column` when the reason names them (the parser writes "NAME: event 3: field 'x': …"
    /// or "NAME: line 4, column 7: …").
    static func location(of reason: String, document: String) -> JSONObject {
        var members: JSONObject = ["document": .string(document)]
        func integer(after marker: String) -> Int? {
            guard let range = reason.range(of: marker) else { return nil }
            return Int(reason[range.upperBound...].prefix { $0.isNumber })
        }
        if let event = integer(after: ": event ") { members["event"] = .number(String(event)) }
        if let range = reason.range(of: "field '"), let end = reason[range.upperBound...].firstIndex(of: "'") {
            members["field"] = .string(String(reason[range.upperBound..<end]))
        }
        if let line = integer(after: ": line ") { members["line"] = .number(String(line)) }
        if let column = integer(after: ", column ") { members["column"] = .number(String(column)) }
        return members
    }

    // MARK: - Queries

    static func events(_ request: APIRequest, node: OpenNode) throws(APIProblem) -> HTTPResponse {
        let parameters = try EventQueryParameters(queryString: request.http.query)
        var query = parameters.query
        query.afterRowID = parameters.afterRowID
        query.limit = parameters.perPage + 1
        let found: [StoredEvent]
        do { found = try node.store.events(matching: query) } catch { throw APIProblem.internalError("store.query_failed", "the store could not answer the query") }
        let page = Array(found.prefix(parameters.perPage))
        var headers: HTTPHeaders = [:]
        var token: String?
        if found.count > parameters.perPage, let last = page.last {
            token = parameters.nextPageToken(after: last.rowID)
            headers.add(name: "Link", value: "</events?\(parameters.nextPageQuery(after: last.rowID))>; rel=\"next\"")
        }
        headers.add(name: "Content-Type", value: "application/json")
        return HTTPResponse(status: 200, headers: headers, body: queryDocument(page, nextPageToken: token))
    }

    static func event(_ request: APIRequest, node: OpenNode) throws(APIProblem) -> HTTPResponse {
        let hashID = request.parameters["eventHashID"] ?? ""
        let found: [StoredEvent]
        do { found = try node.store.events(hashID: hashID) } catch { throw APIProblem.internalError("store.query_failed", "the store could not answer the query") }
        guard !found.isEmpty else { throw APIProblem.notFound("event.not_found", "no event with this hash ID is stored here") }
        return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: queryDocument(found, nextPageToken: nil))
    }

    static func trace(_ request: APIRequest, node: OpenNode) throws(APIProblem) -> HTTPResponse {
        let uim = request.parameters["uim"] ?? ""
        let parameters = try EventQueryParameters.pairs(request.http.query)
        var maxUIMs = 5000
        for (name, value) in parameters {
            guard name == "maxUIMs", let n = Int(value), (1...1_000_000).contains(n) else {
                throw APIProblem.badRequest(name == "maxUIMs" ? "query.bad_value" : "query.unknown_parameter",
                                            name == "maxUIMs" ? "maxUIMs must be an integer from 1 to 1000000" : "unknown query parameter; /trace takes only maxUIMs",
                                            members: ["parameter": .string(String(name.prefix(64)))])
            }
            maxUIMs = n
        }
        let trace: Trace
        do { trace = try node.store.trace(uim: uim, maxUIMs: maxUIMs) } catch { throw APIProblem.internalError("store.query_failed", "the store could not answer the query") }
        guard !(trace.events.isEmpty && trace.levels.count == 1) else {
            throw APIProblem.notFound("trace.not_found", "no event stored here names this UIM")
        }
        return .json(trace.json)
    }

    /// An `EPCISQueryDocument` holding the events' exact stored bytes (evidence: not
    /// re-serialised), plus `nextPageToken` when there is another page.
    static func queryDocument(_ events: [StoredEvent], nextPageToken: String?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512 + events.reduce(0) { $0 + $1.raw.count + 1 })
        out += Array(#"{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISQueryDocument","schemaVersion":"2.0","creationDate":"#.utf8)
        JSONWriter.writeString(Timestamp(epochMilliseconds: Int64(Date().timeIntervalSince1970 * 1000)).canonicalUTC, into: &out)
        out += Array(#","epcisBody":{"queryResults":{"queryName":"SimpleEventQuery","resultsBody":{"eventList":["#.utf8)
        for (index, event) in events.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += event.raw
        }
        out += Array("]}}}".utf8)
        if let nextPageToken {
            out += Array(#","nextPageToken":"#.utf8)
            JSONWriter.writeString(nextPageToken, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
