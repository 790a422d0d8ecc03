import Foundation
import Testing
import Model
@testable import Store

@Suite struct DecisionLogTests {
    func record(_ direction: DecisionRecord.Direction, _ outcome: DecisionRecord.Outcome, agreement: String, to party: String,
                reasons: [String] = []) -> DecisionRecord {
        DecisionRecord(direction: direction, at: "", agreementHash: agreement, flowID: outcome == .deny ? nil : "flow-1",
                       counterpart: party, eventHashID: "ni:///sha-256;\(String(repeating: "a", count: 64))?ver=CBV2.0", outcome: outcome,
                       reasons: JSONWriter.string(.array(reasons.map(JSONValue.string))))
    }

    @Test func recordsAreNumberedListedNewestFirstAndFiltered() throws {
        let directory = try TemporaryDirectory()
        let log = DecisionLog(try EventStore(path: directory.path("db.sqlite")))
        let hashA = String(repeating: "a", count: 64), hashB = String(repeating: "b", count: 64)
        let early = Date(timeIntervalSince1970: 1_700_000_000)
        let late = early.addingTimeInterval(3600)
        let first = try log.record([record(.outbound, .permit, agreement: hashA, to: "urn:fctc:party:UA"),
                                    record(.outbound, .deny, agreement: hashA, to: "urn:fctc:party:BY", reasons: ["bizStep: receiving ∉ [shipping]"])], now: early)
        #expect(first.map(\.seq) == [1, 2])
        try log.record([record(.inbound, .reject, agreement: hashB, to: "urn:fctc:party:UA", reasons: ["event 0: ilmd.tt:machineID not allowed"])], now: late)

        #expect(try log.decisions(matching: DecisionQuery()).map(\.seq) == [3, 2, 1])
        #expect(try log.decisions(matching: DecisionQuery(agreement: "aaaa")).map(\.seq) == [2, 1], "a hash prefix selects")
        #expect(try log.decisions(matching: DecisionQuery(counterpart: "urn:fctc:party:UA")).map(\.seq) == [3, 1])
        #expect(try log.decisions(matching: DecisionQuery(direction: .inbound)).map(\.outcome) == [.reject])
        #expect(try log.decisions(matching: DecisionQuery(outcome: .deny)).first?.reasonList == ["bizStep: receiving ∉ [shipping]"])
        #expect(try log.decisions(matching: DecisionQuery(since: late)).map(\.seq) == [3])
        var limited = DecisionQuery()
        limited.limit = 1
        #expect(try log.decisions(matching: limited).map(\.seq) == [3])
        #expect(try log.decisions(matching: DecisionQuery()).first?.at == Timestamp(epochMilliseconds: 1_700_003_600_000).canonicalUTC)
    }

    @Test func decisionsCannotBeRewritten() throws {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        let log = DecisionLog(store)
        try log.record([record(.outbound, .permit, agreement: String(repeating: "c", count: 64), to: "urn:fctc:party:UA")])
        #expect(throws: StoreError.self) {
            try store.database.write { db in try db.execute("UPDATE decisions SET outcome = 'deny'") }
        }
    }
}
