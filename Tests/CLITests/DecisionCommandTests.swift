import Foundation
import Testing
import Model
import Node
import Policy
import Store
@testable import CLI

/// Recorded decisions (issue 6 item 7): the service decides and records; the CLI lists and filters.
extension AgreementCommandTests {
    @Test func decisionsAreRecordedListedAndFiltered() throws {
        let f = try federation()
        let cli = f.cli
        let (hash, kzSig) = signed(f.draft, cli, signingAt: f.kz)
        let (_, uaSig) = signed(f.draft, cli, signingAt: f.ua)
        #expect(cli.run("agreement", "import", f.draft, "--sig", kzSig, "--sig", uaSig, "--data", f.kz).status == 0)
        #expect(try status(cli, f.kz, hash) == "active")

        let node = try NodeDirectory(path: f.kz).open()
        let service = AgreementService(node: node)
        let ua = try PartyID(country: "UA"), ru = try PartyID(country: "RU")
        var query = EventQuery()
        query.limit = 100_000
        let events = try node.store.events(matching: query)
        let shipping = events.filter { $0.bizStep?.hasSuffix("shipping") == true }
        let commissioning = try #require(events.first { $0.bizStep?.hasSuffix("commissioning") == true })
        #expect(!shipping.isEmpty)

        // Outbound: shipping events to UA (the flow's filter decides each), a commissioning event (deny: bizStep),
        // and an event to RU, with which no agreement exists (deny, agreement "").
        var permits = 0
        for event in shipping.prefix(5) {
            let (decision, record) = try service.decideOutbound(event: event, to: ua)
            #expect(record.outcome == (decision?.permitted == true ? .permit : .deny))
            #expect(record.agreementHash == hash && record.eventHashID == event.hashID && record.counterpart == ua.urn)
            if record.outcome == .permit {
                permits += 1
                #expect(record.flowID == "kz-shipments-to-ua")
                #expect(record.reasonList.first?.hasPrefix("permitted by flow kz-shipments-to-ua") == true)
            }
        }
        #expect(permits >= 1)
        let denied = try service.decideOutbound(event: commissioning, to: ua).record
        #expect(denied.outcome == .deny && denied.flowID == nil)
        #expect(denied.reasonList.contains { $0.contains("bizSteps") }, "\(denied.reasonList)")
        let none = try service.decideOutbound(event: shipping[0], to: ru).record
        #expect(none.outcome == .deny && none.agreementHash == "" && none.reasonList == ["denied: no stored agreement between KZ and RU"])

        // Inbound: UA sends a commissioning event on its flow: outside the row filter, the delta is rejected.
        let document = #"{"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld", {"tt": "https://ns.fedtrace.org/tobacco/1/"}], "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-10T05:00:00Z", "epcisBody": {"eventList": [{"type": "ObjectEvent", "eventTime": "2026-03-03T01:00:01.614Z", "eventTimeZoneOffset": "+02:00", "epcList": ["https://id.gs1.org/01/04820001000018/21/UA0000001"], "action": "ADD", "bizStep": "commissioning", "tt:destinationCountry": "KZ"}]}}"#
        let received = try EPCISDocumentParser.parse(Array(document.utf8), name: "from-ua").events
        let inbound = try service.decideInbound(events: received, from: ua, agreementHash: hash, flowID: "ua-shipments-to-kz")
        #expect(!inbound.decision.accepted)
        #expect(inbound.record.outcome == .reject && inbound.record.direction == .inbound && inbound.record.eventHashID == received[0].hashID)
        #expect(inbound.record.reasonList.first?.contains("outside the row filter") == true, "\(inbound.record.reasonList)")
        // An unknown agreement rejects too.
        let unknown = try service.decideInbound(events: received, from: ua, agreementHash: String(repeating: "0", count: 64), flowID: "x")
        #expect(unknown.record.outcome == .reject && unknown.record.reasonList.first?.contains("not stored here") == true)

        // explain is a what-if: it records nothing.
        let before = try service.decisions(DecisionQuery(limit: 1000)).count
        #expect(cli.run("agreement", "explain", "--data", f.kz, "--event", shipping[0].hashID, "--to", "UA").status == 0)
        #expect(try service.decisions(DecisionQuery(limit: 1000)).count == before)
        let total = min(shipping.count, 5) + 2 + 2
        #expect(before == total)

        // Listing and filtering through the CLI.
        func listed(_ options: String...) throws -> [JSONObject] {
            let run = cli.run(["agreement", "decisions", "--data", f.kz, "--json"] + options)
            #expect(run.status == 0, "\(run.err)")
            return try JSONParser.parse(Array(run.out.utf8)).arrayValue?.compactMap(\.objectValue) ?? []
        }
        let all = try listed()
        #expect(all.count == total)
        #expect(all.first?["direction"]?.stringValue == "inbound")  // newest first
        #expect(try listed("--direction", "outbound").count == total - 2)
        #expect(try listed("--direction", "inbound", "--outcome", "reject").count == 2)
        #expect(try listed("--outcome", "permit").count == permits)
        #expect(try listed("--outcome", "deny", "--party", "RU").map { $0["agreement"]?.stringValue } == [""])
        #expect(try listed("--agreement", String(hash.prefix(12))).count == total - 2)
        #expect(try listed("--agreement", hash, "--direction", "inbound").first?["flow"]?.stringValue == "ua-shipments-to-kz")
        #expect(try listed("--party", "UA").count == total - 1)
        #expect(try listed("--limit", "3").count == 3)
        #expect(try listed("--since", "2000-01-01").count == total)
        #expect(try listed("--since", "2100-01-01").isEmpty)
        let text = cli.run("agreement", "decisions", "--data", f.kz, "--outcome", "reject", "--direction", "inbound")
        #expect(text.status == 0 && text.out.contains("inbound ← UA  REJECT") && text.out.contains("2 decisions"), "\(text.out)")
        #expect(cli.run("agreement", "decisions", "--data", f.kz, "--outcome", "maybe").status == 2)
        #expect(cli.run("agreement", "decisions", "--data", f.kz, "--direction", "sideways").status == 2)
    }
}

/// `fedtrace agreement lint` judges the window against now.
@Suite struct LintCommandTests {
    @Test func lintReportsAnExpiredWindowAndSensitiveElements() throws {
        let cli = try CLIHarness()
        let file = cli.path("old.json")
        let text = DecisionTableFixture.agreement(notBefore: "2020-01-01T00:00:00Z", notAfter: "2020-12-31T23:59:59Z", fields: #"["e", "h", "i", "j"]"#)
        #expect(FileManager.default.createFile(atPath: file, contents: Data(text.utf8)))
        let run = cli.run("agreement", "lint", file)
        #expect(run.status == 1, "\(run.out)")
        #expect(run.out.contains("error: lint.expired at validity.notAfter"), "\(run.out)")
        #expect(run.out.contains("warning: lint.sensitive-element at flows[0].fields") && run.out.contains("element (i)"), "\(run.out)")
        let future = cli.path("future.json")
        #expect(FileManager.default.createFile(atPath: future, contents: Data(DecisionTableFixture.agreement(notBefore: "2099-01-01T00:00:00Z", notAfter: "2099-12-31T23:59:59Z", fields: #"["h", "j"]"#).utf8)))
        let later = cli.run("agreement", "lint", future)
        #expect(later.status == 0 && later.out.contains("warning: lint.not-yet-valid at validity.notBefore") && later.out.contains("0 errors, 1 warning"), "\(later.out)")
    }
}

enum DecisionTableFixture {
    static func agreement(notBefore: String, notAfter: String, fields: String) -> String {
        #"""
        {"id": "old", "version": 1, "supersedes": null, "profile": "fctc-tt-1",
         "parties": [{"party": "urn:fctc:party:KZ", "competentAuthority": "A"}, {"party": "urn:fctc:party:UA", "competentAuthority": "B"}],
         "validity": {"notBefore": "\#(notBefore)", "notAfter": "\#(notAfter)"}, "purposes": ["illicit-trade-detection"], "legalBasis": "Art. 8",
         "flows": [{"id": "kz-to-ua", "from": ["urn:fctc:party:KZ"], "to": ["urn:fctc:party:UA"], "action": "replicate",
                    "rowFilter": {"eventTypes": ["ObjectEvent"]}, "fields": \#(fields), "duties": {"retentionDays": 30, "receipts": true}}],
         "onwardTransfer": {"allowed": false}, "relay": {"viaHub": null}, "enquiry": {"mode": "manual", "answerWithinHours": 72},
         "termination": {"noticeDays": 90, "receivedData": "delete"}, "signatures": []}
        """#
    }
}
