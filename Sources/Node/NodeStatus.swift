import Foundation
import Model
import Store

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
        ]
    }
}
