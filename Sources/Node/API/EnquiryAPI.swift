import Foundation
import Core
import Model
import Net
import Store
import Sync

/// The enquiry routes (docs/hub.md §3): on the federation listener the sealed enquiries and
/// answers other Parties send (`POST /fed/v1/enquiries`, `POST /fed/v1/answers`); on the
/// local API the officer's view (`POST /enquiries`, `GET /enquiries`, `GET /enquiries/{id}`,
/// `POST /enquiries/{id}/approve`, `POST /enquiries/{id}/reject`). Both use the node's shared
/// `EnquiryService`; a node without its signing and sealing keys answers 503.
public enum EnquiryAPI {
    static func service(_ node: OpenNode) throws(APIProblem) -> EnquiryService {
        do {
            return try EnquiryService.shared(for: node)
        } catch {
            throw APIProblem(status: 503, code: "enquiry.unavailable", detail: (error as? any CodedError)?.reason ?? "enquiries are not available on this node")
        }
    }

    static func problem(_ error: SyncError) -> APIProblem {
        APIProblem(status: EnquiryService.httpStatus(of: error.code), code: error.code, detail: error.reason)
    }

    // MARK: - Federation

    /// `POST /fed/v1/enquiries` and `POST /fed/v1/answers`: a sealed body with the routing
    /// header (`Fedtrace-Kind`, `-Message-ID`, `-Origin` = the TLS peer, `-Recipients`,
    /// `-Agreement`); `202 {"enquiryID", "duplicate"}` once stored, else a problem report.
    public static func federationRoutes(node: OpenNode) -> [Route] {
        @Sendable func receive(_ request: APIRequest, kind: EnquiryMessageKind) throws(APIProblem) -> HTTPResponse {
            guard let peer = request.context.peerIdentity else {
                throw APIProblem(status: 403, code: "federation.no_identity", detail: "the connection carries no verified Party identity")
            }
            let service = try service(node)
            let routing: EnquiryRouting
            do throws(SyncError) {
                routing = try EnquiryRouting(expected: kind) { name in request.http.headers.values(for: name).first }
            } catch {
                try? service.store.recordRejection(peer: peer, kind: kind.rawValue, messageID: nil, code: error.code, reason: error.reason)
                throw problem(error)
            }
            guard routing.origin == peer else {
                let error = SyncError(code: "\(kind.codePrefix).identity", reason: "the TLS peer \(peer) is not the \(kind.rawValue)'s origin \(routing.origin)")
                try? service.store.recordRejection(peer: peer, kind: kind.rawValue, messageID: routing.messageID, code: error.code, reason: error.reason)
                throw problem(error)
            }
            let intake = kind == .enquiry
                ? service.receiveEnquiry(sealed: request.http.body, origin: peer, routing: routing)
                : service.receiveAnswer(sealed: request.http.body, origin: peer, routing: routing)
            switch intake {
            case .accepted(let record, let duplicate):
                return .json(.object(["enquiryID": .string(record.enquiryID), "duplicate": .bool(duplicate)]), status: 202)
            case .refused(let error):
                var problem = problem(error)
                problem.members = ["enquiryID": .string(routing.messageID)]
                throw problem
            }
        }
        return [
            Route(.post, "/fed/v1/enquiries") { request throws(APIProblem) in try receive(request, kind: .enquiry) },
            Route(.post, "/fed/v1/answers") { request throws(APIProblem) in try receive(request, kind: .answer) },
        ]
    }

    // MARK: - Local API

    /// The officer's enquiry routes on the local API.
    public static func localRoutes(node: OpenNode) -> [Route] {
        @Sendable func officer(_ request: APIRequest) -> String { request.context.peerIdentity ?? "local-api" }
        @Sendable func coded(_ error: any Error) -> APIProblem {
            guard let coded = error as? any CodedError else { return .internalError("enquiry.failed", "the enquiry could not be processed") }
            let input: Set<String> = ["enquiry.uim", "enquiry.case", "enquiry.purpose", "enquiry.reason", "enquiry.form"]
            let status = coded.code == "enquiry.unknown" ? 404 : input.contains(coded.code) ? 400 : coded.code == "enquiry.not-pending" ? 409 : 422
            return APIProblem(status: status, code: coded.code, detail: coded.reason)
        }
        @Sendable func record(_ request: APIRequest, _ service: EnquiryService) throws(APIProblem) -> EnquiryRecord {
            let id = request.parameters["id"] ?? ""
            let found: EnquiryRecord?
            do { found = try service.find(id) } catch { throw .internalError("store.query_failed", "the store could not answer the query") }
            guard let found else { throw APIProblem.notFound("enquiry.unknown", "no enquiry with this ID is held here") }
            return found
        }
        @Sendable func body(_ request: APIRequest, allowed: Set<String>) throws(APIProblem) -> JSONObject {
            if request.http.body.isEmpty { return [:] }
            guard case .object(let o)? = try? JSONParser.parse(request.http.body) else {
                throw APIProblem.badRequest("enquiry.body", "the body must be a JSON object")
            }
            if let unknown = o.keys.first(where: { !allowed.contains($0) }) {
                throw APIProblem.badRequest("enquiry.body", "unknown member '\(unknown.prefix(64))'; allowed: \(allowed.sorted().joined(separator: ", "))")
            }
            return o
        }
        return [
            Route(.post, "/enquiries") { request throws(APIProblem) in
                let service = try service(node)
                let o = try body(request, allowed: ["uim", "uims", "purpose", "caseReference", "to"])
                var uims: [String] = []
                if case .string(let uim)? = o["uim"] { uims.append(uim) }
                if case .array(let list)? = o["uims"] {
                    for item in list {
                        guard case .string(let uim) = item else { throw APIProblem.badRequest("enquiry.body", "'uims' must be an array of strings") }
                        uims.append(uim)
                    }
                }
                guard case .string(let purpose)? = o["purpose"], case .string(let reference)? = o["caseReference"] else {
                    throw APIProblem.badRequest("enquiry.body", "give 'uim' or 'uims', 'purpose' and 'caseReference' (and 'to': the responder's Party)")
                }
                var to: PartyID?
                if case .string(let text)? = o["to"] {
                    do { to = text.hasPrefix("urn:") ? try PartyID(urn: text) : try PartyID(country: text) } catch {
                        throw APIProblem.badRequest("enquiry.body", "'to': \((error as? any CodedError)?.reason ?? "not a Party")")
                    }
                }
                do {
                    let sent = try service.send(uims: uims, purpose: purpose, caseReference: reference, to: to)
                    return .json(try service.json(sent, events: false), status: 201)
                } catch {
                    throw coded(error)
                }
            },
            Route(.get, "/enquiries") { request throws(APIProblem) in
                let service = try service(node)
                var role: EnquiryRecord.Role?
                var status: String?
                for (name, value) in try EventQueryParameters.pairs(request.http.query) {
                    switch name {
                    case "role":
                        guard let r = EnquiryRecord.Role(rawValue: value) else { throw APIProblem.badRequest("query.bad_value", "role must be requester or responder") }
                        role = r
                    case "status": status = value
                    default:
                        throw APIProblem.badRequest("query.unknown_parameter", "unknown query parameter; /enquiries takes role and status",
                                                    members: ["parameter": .string(String(name.prefix(64)))])
                    }
                }
                do {
                    let now = Date()
                    let records = try service.store.enquiries(role: role).filter { status == nil || $0.status(at: now) == status }
                    return .json(.array(try records.map { try service.json($0, events: false, now: now) }))
                } catch {
                    throw .internalError("store.query_failed", "the store could not answer the query")
                }
            },
            Route(.get, "/enquiries/{id}") { request throws(APIProblem) in
                let service = try service(node)
                let found = try record(request, service)
                do { return .json(try service.json(found, events: true)) } catch { throw .internalError("store.query_failed", "the store could not answer the query") }
            },
            Route(.post, "/enquiries/{id}/approve") { request throws(APIProblem) in
                let service = try service(node)
                let found = try record(request, service)
                _ = try body(request, allowed: [])
                do { return .json(try service.json(try service.approve(found.enquiryID, officer: officer(request)), events: false)) } catch { throw coded(error) }
            },
            Route(.post, "/enquiries/{id}/reject") { request throws(APIProblem) in
                let service = try service(node)
                let found = try record(request, service)
                let o = try body(request, allowed: ["reason"])
                guard case .string(let reason)? = o["reason"] else { throw APIProblem.badRequest("enquiry.reason", "give the rejection's 'reason'") }
                do { return .json(try service.json(try service.reject(found.enquiryID, reason: reason, officer: officer(request)), events: false)) } catch { throw coded(error) }
            },
        ]
    }
}
