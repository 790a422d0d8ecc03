import Foundation
import Testing
import Crypto
import Model
import Net
import Policy

extension FederationTests {
    /// KZ ↔ UA, each capturing its own supply chain, each flow with its own rows and fields.
    @Suite struct Bilateral {
        @Test func bothDirectionsReplicateRedactedWithStatusMetricsAndAudit() throws {
            let cluster = try Cluster("bilateral", parties: ["KZ", "UA"])
            let kz = cluster["KZ"], ua = cluster["UA"]
            // KZ → UA: object and aggregation events, elements (a), (g), (h), (j);
            // UA → KZ: commissioning and shipping object events, elements (b), (f), (h).
            let agreement = try cluster.agreement(drafter: "KZ", with: ["UA"]) { document in
                document["flows"] = .array([
                    replicateFlow("kz-to-ua", from: ["KZ"], to: ["UA"], rowFilter: ["eventTypes": ["ObjectEvent", "AggregationEvent"]],
                                  fields: ["a", "g", "h", "j"]),
                    replicateFlow("ua-to-kz", from: ["UA"], to: ["KZ"], rowFilter: ["eventTypes": ["ObjectEvent"], "bizSteps": ["commissioning", "shipping"]],
                                  fields: ["b", "f", "h"], retentionDays: 30),
                ])
            }
            let kzFiles = try cluster.generate("gen-kz", events: 3000, perDocument: 1000, from: "KZ", to: "UA", seed: 11)
            let uaFiles = try cluster.generate("gen-ua", events: 2000, perDocument: 1000, from: "UA", to: "KZ", seed: 12)
            try cluster.startAll()
            let kzCaptured = try kz.capture(kzFiles)
            let uaCaptured = try ua.capture(uaFiles)
            #expect(kzCaptured > 2500 && uaCaptured > 1500)

            let toUA = agreement.stream("kz-to-ua", origin: "KZ"), toKZ = agreement.stream("ua-to-kz", origin: "UA")
            let kzEvents = try StoreView(kz).events(origin: kz.urn), uaEvents = try StoreView(ua).events(origin: ua.urn)
            let expectedAtUA = try expectedShare(of: kzEvents, origin: "KZ", recipient: "UA", agreement: agreement, flow: "kz-to-ua")
            let expectedAtKZ = try expectedShare(of: uaEvents, origin: "UA", recipient: "KZ", agreement: agreement, flow: "ua-to-kz")
            // Both flows select some events and leave others out, and redact something.
            #expect(expectedAtUA.count > 1000 && expectedAtUA.count < kzEvents.count, "\(expectedAtUA.count) of \(kzEvents.count)")
            #expect(expectedAtKZ.count > 100 && expectedAtKZ.count < uaEvents.count, "\(expectedAtKZ.count) of \(uaEvents.count)")

            let uaLast = try waitForConvergence(toUA, from: kz, to: ua, events: expectedAtUA.count)
            let kzLast = try waitForConvergence(toKZ, from: ua, to: kz, events: expectedAtKZ.count)

            // Field by field: exactly the redacted originals, same hash IDs.
            try expectExactly(expectedAtUA, at: ua, from: kz)
            try expectExactly(expectedAtKZ, at: kz, from: ua)
            // Members the flows leave out are really gone: (c) machine, (e) transactions, record time.
            let originals = Dictionary(uniqueKeysWithValues: kzEvents.map { ($0.hashID, $0.object) })
            let atUA = try StoreView(ua).events(origin: kz.urn)
            #expect(atUA.contains { originals[$0.hashID]?["ilmd"]?.objectValue?["tt:machineID"] != nil }, "the test data has machine IDs to redact")
            #expect(atUA.allSatisfy { $0.object["ilmd"]?.objectValue?["tt:machineID"] == nil && $0.object["bizTransactionList"] == nil })
            #expect(atUA.contains { $0.object["ilmd"]?.objectValue?["tt:brand"] != nil }, "(g) travels")
            let atKZ = try StoreView(kz).events(origin: ua.urn)
            #expect(atKZ.allSatisfy { $0.object["ilmd"]?.objectValue?["tt:brand"] == nil }, "(g) is not in ua-to-kz")

            // The operator's own check: `agreement explain --as-recipient` prints what the recipient holds.
            for (sender, receiver, received) in [(kz, ua, atUA), (ua, kz, atKZ)] {
                for event in [received.first, received.dropFirst(received.count / 2).first, received.last].compactMap({ $0 }) {
                    let explained = try fedtraceOK("agreement", "explain", "--data", sender.data, "--event", event.hashID, "--to", receiver.code, "--as-recipient")
                    let object = try #require(explained.json?.objectValue)
                    #expect(canonical(object) == canonical(event.object), "explain --as-recipient disagrees with what \(receiver.code) holds for \(event.hashID)")
                }
            }

            // Delta hashes: the receiver applied exactly the sender's deltas, in order.
            for (stream, sender, receiver) in [(toUA, kz, ua), (toKZ, ua, kz)] {
                let outbox = try StoreView(sender).outbox(stream)
                let state = try StoreView(receiver).receiverState(stream, origin: sender.urn)
                #expect(state.deltas.map(\.sequence) == outbox.map(\.sequence))
                #expect(state.deltas.map(\.deltaHash) == outbox.map(\.deltaHash))
                #expect(state.deltas.map(\.events) == outbox.map(\.eventCount))
                #expect(state.stopped == nil)
            }

            // status --json: created = sent = acknowledged, lag 0 at the sender; the position at the receiver.
            for (stream, sender, receiver, last, count) in [(toUA, kz, ua, uaLast, expectedAtUA.count), (toKZ, ua, kz, kzLast, expectedAtKZ.count)] {
                let out = try #require(try sender.sync().outbound.first { $0["stream"]?.stringValue == stream }, "no outbound \(stream) at \(sender.code)")
                #expect(out["recipient"]?.stringValue == receiver.urn)
                #expect(out["created"]?.int == Int(last) && out["sent"]?.int == Int(last) && out["acknowledged"]?.int == Int(last), "\(out)")
                #expect(out["lagDeltas"]?.int == 0 && out["lagEvents"]?.int == 0 && out["lastError"] == .null, "\(out)")
                let inbound = try #require(try receiver.sync().inbound.first { $0["stream"]?.stringValue == stream }, "no inbound \(stream) at \(receiver.code)")
                #expect(inbound["received"]?.int == Int(last) && inbound["events"]?.int == count && inbound["stopped"] == .null, "\(inbound)")
                #expect(inbound["origin"]?.stringValue == sender.urn)
                let text = try sender.statusText()
                #expect(text.contains("created \(last), sent \(last), acknowledged \(last), lag 0 deltas / 0 events"), "\(text)")
                let peer = try #require(try sender.sync().peers.first { $0["party"]?.stringValue == receiver.urn })
                #expect(peer["lastSeen"] != .null && peer["lastError"] == .null && peer["sealingCertificate"] == .bool(true), "\(peer)")
                #expect(try receiver.sync().rejected.isEmpty)
            }

            // /metrics on each local API: the replication gauges agree with status.
            for (stream, inboundStream, node, peer, last, inboundLast) in [(toUA, toKZ, kz, ua, uaLast, kzLast), (toKZ, toUA, ua, kz, kzLast, uaLast)] {
                let metrics = try node.apiClient().send(HTTPRequest(method: .get, target: "/metrics"))
                #expect(metrics.status == 200)
                let text = String(decoding: metrics.body, as: UTF8.self)
                func gauge(_ name: String, _ labels: String) -> Double? {
                    text.split(separator: "\n").first { $0.hasPrefix("\(name){\(labels)}") }.flatMap { Double($0.split(separator: " ").last ?? "") }
                }
                for position in ["created", "sent", "acknowledged"] {
                    #expect(gauge("fedtrace_sync_outbound_sequence", #"stream="\#(stream)",recipient="\#(peer.urn)",position="\#(position)""#) == Double(last),
                            "\(position) at \(node.code): \(text.split(separator: "\n").filter { $0.contains("fedtrace_sync") })")
                }
                #expect(gauge("fedtrace_sync_outbound_lag_events", #"stream="\#(stream)",recipient="\#(peer.urn)""#) == 0)
                #expect(gauge("fedtrace_sync_outbound_error", #"stream="\#(stream)",recipient="\#(peer.urn)""#) == 0)
                #expect(gauge("fedtrace_sync_inbound_sequence", #"stream="\#(inboundStream)",origin="\#(peer.urn)""#) == Double(inboundLast))
                #expect(gauge("fedtrace_sync_inbound_stopped", #"stream="\#(inboundStream)",origin="\#(peer.urn)""#) == 0)
                #expect(gauge("fedtrace_sync_peer_up", #"peer="\#(peer.urn)""#) == 1)
                #expect(text.split(separator: "\n").contains("fedtrace_sync_rejected_recent 0"))
            }

            // Audit: every delta created and applied once, and both chains intact.
            #expect(try StoreView(kz).audit("delta.create").count == Int(uaLast))
            #expect(try StoreView(ua).audit("delta.apply").count == Int(uaLast))
            #expect(try StoreView(ua).audit("delta.apply").allSatisfy { $0["duplicates"]?.int == 0 })
            try cluster.stopAll()
            #expect(try kz.auditIntact() && ua.auditIntact())
        }
    }
}
