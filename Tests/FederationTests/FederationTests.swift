import Foundation
import Testing
import Model
import Policy

/// Multi-node tests (issue 7 item 6): real `fedtrace serve` processes replicating to each
/// other over mutual TLS on 127.0.0.1, driven with the CLI as an operator would. The suites
/// run one after another: they time things on a small machine, and each starts its own
/// processes. Set FEDTRACE_KEEP_TEST_DIRECTORIES=1 to keep the data directories and logs.
@Suite(.serialized) struct FederationTests {}

/// What the origin's flow lets `recipient` see of `events`: hash ID → redacted event, by
/// `Evaluation.outbound` (the policy decision the sender must apply), at now, with every
/// Party of the agreement as a signer. With `flow`, only events that flow carries.
func expectedShare(of events: [StoreView.Event], origin: String, recipient: String, agreement: Agreement, flow: String? = nil) throws -> [String: JSONObject] {
    let at = Timestamp(epochMilliseconds: Int64(Date().timeIntervalSince1970 * 1000))
    let from = try PartyID(country: origin), to = try PartyID(country: recipient)
    let signers = Set(agreement.partyIDs)
    var out: [String: JSONObject] = [:]
    for event in events {
        let decision = Evaluation.outbound(event: event.object, recipient: to, origin: from, agreement: agreement, signedBy: signers, at: at)
        guard decision.permitted, let redacted = decision.redactedEvent, flow == nil || decision.flowID == flow else { continue }
        out[event.hashID] = redacted
    }
    return out
}

/// Checks that `receiver` holds exactly `expected` from `origin`: the same hash IDs, each
/// event equal member by member to the redacted original, stored with a retention deadline.
/// Events whose hash ID is in `ignoring` are left out of the comparison (checked elsewhere).
func expectExactly(_ expected: [String: JSONObject], at receiver: NodeProcess, from origin: NodeProcess, ignoring: Set<String> = [],
                   sourceLocation: SourceLocation = #_sourceLocation) throws {
    let received = try StoreView(receiver).events(origin: origin.urn).filter { !ignoring.contains($0.hashID) }
    let ids = Set(received.map(\.hashID))
    #expect(received.count == ids.count, "an event stored twice at \(receiver.code)", sourceLocation: sourceLocation)
    let missing = Set(expected.keys).subtracting(ids), extra = ids.subtracting(expected.keys)
    #expect(missing.isEmpty && extra.isEmpty,
            "\(receiver.code) holds \(received.count) events from \(origin.code), expected \(expected.count): \(missing.count) missing (e.g. \(missing.first ?? "-")), \(extra.count) not allowed (e.g. \(extra.first ?? "-"))",
            sourceLocation: sourceLocation)
    var differing = 0
    for event in received {
        guard let want = expected[event.hashID] else { continue }
        let got = event.object
        if canonical(got) != canonical(want) {
            if differing == 0 {
                let have = memberPaths(.object(got)), should = memberPaths(.object(want))
                Issue.record("event \(event.hashID) at \(receiver.code) differs from the redacted original: extra members \(have.subtracting(should).sorted()), missing \(should.subtracting(have).sorted()); got \(JSONWriter.string(.object(got)).prefix(600)) want \(JSONWriter.string(.object(want)).prefix(600))",
                             sourceLocation: sourceLocation)
            }
            differing += 1
        }
    }
    #expect(differing == 0, "\(differing) events at \(receiver.code) differ from their redacted originals", sourceLocation: sourceLocation)
    #expect(received.allSatisfy { $0.retentionDeadline != nil }, "received events carry a retention deadline", sourceLocation: sourceLocation)
}

/// Waits until `sender` has cut everything it captured into deltas of `stream` and `receiver`
/// applied them all: the outbox holds `events` events in total, every delta is acknowledged,
/// and the receiver's position is the last one. Returns the last sequence.
@discardableResult
func waitForConvergence(_ stream: String, from sender: NodeProcess, to receiver: NodeProcess, events: Int, timeout: TimeInterval = 120,
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> Int64 {
    var last: (created: Int64, acknowledged: Int64, cut: Int, position: Int64) = (0, 0, 0, 0)
    let converged = try waitUntil(timeout: timeout, interval: 0.3) {
        let (created, cut) = try StoreView(sender).cutSummary(stream)
        let acknowledged = try StoreView(sender).progress(stream, recipient: receiver.urn)?.acknowledged ?? 0
        let position = try StoreView(receiver).position(stream)
        last = (created, acknowledged, cut, position)
        return last.cut == events && created == acknowledged && position == created
    }
    if !converged {
        Issue.record("\(stream) \(sender.code) → \(receiver.code) did not converge in \(timeout) s: cut \(last.cut) of \(events) events, created \(last.created), acknowledged \(last.acknowledged), position at \(receiver.code) \(last.position)\n\(diagnostics(sender, receiver))",
                     sourceLocation: sourceLocation)
    }
    return last.created
}

/// Status and log tails of `nodes`, for a failure message.
func diagnostics(_ nodes: NodeProcess...) -> String {
    nodes.map { node in
        let status = (try? fedtrace("status", "--data", node.data).out) ?? "(status failed)"
        return "--- \(node.code) (running: \(node.isRunning)) status:\n\(status)--- \(node.code) log:\n\(node.logText().suffix(1500))"
    }.joined(separator: "\n")
}
