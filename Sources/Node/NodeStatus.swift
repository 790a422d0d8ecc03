import Foundation
import Model
import Store
import Sync

extension OpenNode {
    /// The node's identity, stored data and audit state, as `fedtrace status --json` and
    /// `GET /status` print it.
    public func statusReport() throws -> JSONObject {
        let counts = try store.counts(localOrigin: configuration.party.urn)
        let audit = try store.verifyAudit()
        let last = try store.recentAudit(limit: 1).first
        return [
            "party": .string(configuration.party.urn), "role": .string(configuration.role.rawValue),
            "data": .string(directory.path),
            "events": .number(String(counts.events)), "localEvents": .number(String(counts.localEvents)),
            "receivedEvents": .number(String(counts.receivedEvents)), "uims": .number(String(counts.uims)),
            "aggregationLinks": .number(String(counts.aggregationLinks)),
            "auditRecords": .number(String(counts.auditRecords)), "auditIntact": .bool(audit.isIntact),
            "lastAudit": last.map { .string("\($0.at) \($0.action)") } ?? .null,
            "sync": .object(try syncReport()),
            "enquiries": .object(try enquiryReport()),
        ]
    }

    /// Enquiries (docs/hub.md §3): how many this node sent and received by shown status
    /// (`pending` ones wait for an officer here; `overdue` ones are past their deadline), and
    /// the outbox of enquiries and answers not yet accepted by their recipient or a hub.
    public func enquiryReport(now: Date = Date()) throws -> JSONObject {
        let store = EnquiryStore(self.store)
        var byRole: [String: JSONObject] = ["requester": [:], "responder": [:]]
        for row in try store.statusCounts(now: now) { byRole[row.role, default: [:]][row.status] = .number(String(row.count)) }
        let outbox: [JSONValue] = try store.outboxCounts().map { o in
            .object(["kind": .string(o.kind), "waiting": .number(String(o.waiting)), "failing": .number(String(o.failing))])
        }
        return ["sent": .object(byRole["requester"] ?? [:]), "received": .object(byRole["responder"] ?? [:]), "outbox": .array(outbox)]
    }

    /// Replication state (docs/sync.md): per outbound stream and recipient the positions
    /// created, sent and acknowledged, the lag and the last error; per inbound stream the
    /// position received; the peers; the newest refused deltas.
    public func syncReport() throws -> JSONObject {
        let sync = SyncStore(store)
        let streams = Dictionary(uniqueKeysWithValues: try sync.outboundStreams().map { ($0.stream, $0) })
        var outbound: [JSONValue] = []
        for progress in try sync.progress() {
            guard let stream = streams[progress.stream] else { continue }
            let backlog = try sync.backlog(stream: progress.stream, after: progress.acknowledged)
            outbound.append(.object([
                "stream": .string(progress.stream), "recipient": .string(progress.recipient),
                "created": .number(String(stream.lastSequence)), "sent": .number(String(progress.sent)),
                "acknowledged": .number(String(progress.acknowledged)),
                "lagDeltas": .number(String(stream.lastSequence - progress.acknowledged)), "lagEvents": .number(String(backlog.events)),
                "oldestUnacknowledged": backlog.oldest.map(JSONValue.string) ?? .null,
                "closed": .bool(stream.closed),
                "lastError": progress.lastError.map(JSONValue.string) ?? .null,
                "lastErrorAt": progress.lastErrorAt.map(JSONValue.string) ?? .null,
            ]))
        }
        let inbound: [JSONValue] = try sync.positions().map { p in
            .object([
                "stream": .string(p.stream), "origin": .string(p.origin), "received": .number(String(p.sequence)),
                "events": .number(String(p.events)), "updatedAt": .string(p.updatedAt),
                "stopped": p.stopped.map(JSONValue.string) ?? .null,
            ])
        }
        let peers: [JSONValue] = try sync.peers().map { p in
            .object([
                "party": .string(p.party), "endpoint": .string(p.endpoint), "sealingCertificate": .bool(p.sealingCertificate != nil),
                "lastSeen": p.lastSeen.map(JSONValue.string) ?? .null, "lastError": p.lastError.map(JSONValue.string) ?? .null,
                "lastErrorAt": p.lastErrorAt.map(JSONValue.string) ?? .null,
            ])
        }
        let rejections: [JSONValue] = try sync.rejections(limit: 10).map { r in
            .object(["peer": .string(r.peer), "stream": .string(r.stream), "sequence": .number(String(r.sequence)),
                     "code": .string(r.code), "reason": .string(r.reason), "at": .string(r.at)])
        }
        let mailboxes: [JSONValue] = try MailboxStore(store).depth().map { m in
            .object(["recipient": .string(m.recipient), "entries": .number(String(m.entries)), "bytes": .number(String(m.bytes))])
        }
        return ["outbound": .array(outbound), "inbound": .array(inbound), "peers": .array(peers), "rejected": .array(rejections),
                "mailboxes": .array(mailboxes)]
    }
}
