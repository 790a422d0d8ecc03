import Foundation
import Testing
import Model
import Policy

extension FederationTests {
    /// A hub and three Parties as real processes; KZ and DE reach each other only through the
    /// hub (docs/hub.md §1). The hub is killed (-9) while it holds KZ's deltas and restarted:
    /// nothing is lost, nothing arrives twice, and no UIM reaches the hub's files or log.
    @Suite struct Hub {
        @Test func relayThroughAHubKilledMidRelayLosesNothing() throws {
            let cluster = try Cluster("hub", parties: ["KZ", "UA", "DE"], hub: "gsp", direct: false)
            let kz = cluster["KZ"], de = cluster["DE"], hub = cluster["hub"]
            let agreement = try cluster.agreement(drafter: "KZ", with: ["DE"]) { document in
                document["flows"] = .array([replicateFlow("kz-all-to-de", from: ["KZ"], to: ["DE"], rowFilter: [:], fields: ["a", "g", "h"])])
                document["relay"] = .object(["viaHub": "urn:fctc:hub:gsp"])
            }
            let stream = agreement.stream("kz-all-to-de", origin: "KZ")
            try cluster.startAll()
            for party in [kz, de] { try fedtraceOK("directory", "publish", "--data", party.data, "--endpoint", party.endpoint) }
            let files = try cluster.generate("gen", events: 6000, perDocument: 500, from: "KZ", to: "DE", seed: 31)
            // DE is away while KZ captures: the deltas wait in the hub's mailbox.
            #expect(try de.stop() == 0)
            #expect(try kz.capture(files) > 5000)
            let expected = Set(try StoreView(kz).hashIDs(origin: kz.urn))
            #expect(waitUntil(timeout: 60) { ((try? StoreView(hub).mailboxDepth()) ?? 0) >= 3 }, "the hub never held KZ's deltas")
            // Kill the hub mid-relay, while KZ is still relaying, then bring it and DE back.
            hub.kill9()
            try hub.start()
            try de.start()
            try waitForConvergence(stream, from: kz, to: de, events: expected.count, timeout: 180)
            let atDE = try StoreView(de).hashIDs(origin: kz.urn)
            #expect(Set(atDE) == expected, "DE lacks \(expected.subtracting(atDE).count) events")
            #expect(atDE.count == Set(atDE).count, "an event arrived twice")
            #expect(waitUntil(timeout: 30) { ((try? StoreView(hub).mailboxDepth()) ?? 1) == 0 }, "the hub's mailbox did not drain")
            try cluster.stopAll()
            // The hub relayed sealed envelopes only: no UIM or event field in its files or its log.
            let events = try StoreView(kz).events(origin: kz.urn)
            let uims = events.prefix(200).compactMap { $0.object["epcList"]?.arrayValue?.first?.stringValue }
            #expect(uims.count > 10)
            let needles = uims.prefix(50).map { Array($0.utf8) } + ["tt:manufactureCountry", "eventTimeZoneOffset"].map { Array($0.utf8) }
            let hubFiles = try FileManager.default.subpathsOfDirectory(atPath: hub.data).map { hub.data + "/" + $0 } + [hub.log]
            for file in hubFiles {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                for needle in needles {
                    #expect(data.range(of: Data(needle)) == nil, "\(file) holds \(String(decoding: needle, as: UTF8.self)) in clear")
                }
            }
            for node in [kz, de, hub] { #expect(try node.auditIntact(), "audit at \(node.code)") }
        }
    }
}
