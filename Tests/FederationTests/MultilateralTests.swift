import Foundation
import Testing
import Model
import Policy

extension FederationTests {
    /// KZ, UA and DE under one multilateral agreement drafted with `--with UA --with DE`,
    /// its flows edited: KZ → {UA, DE} aggregation events with element (h) only; KZ → DE
    /// commissioning events with (a) and (g) only; and the draft's own shipping flows
    /// KZ → UA and KZ → DE (one per recipient) with `destinationCountry: "recipient"`, (h) and (j).
    @Suite struct Multilateral {
        @Test func eachPartyReceivesExactlyWhatItsFlowsSay() throws {
            let cluster = try Cluster("multilateral", parties: ["KZ", "UA", "DE"])
            let kz = cluster["KZ"], ua = cluster["UA"], de = cluster["DE"]
            let agreement = try cluster.agreement(drafter: "KZ", with: ["UA", "DE"]) { document in
                guard case .array(let drafted)? = document["flows"] else { return }
                let shipping = drafted.filter { $0.objectValue?["id"]?.stringValue?.hasPrefix("kz-shipments-to-") == true }
                document["flows"] = .array([
                    replicateFlow("kz-packing-to-ua-de", from: ["KZ"], to: ["UA", "DE"], rowFilter: ["eventTypes": ["AggregationEvent"]], fields: ["h"]),
                    replicateFlow("kz-commissioning-to-de", from: ["KZ"], to: ["DE"],
                                  rowFilter: ["eventTypes": ["ObjectEvent"], "bizSteps": ["commissioning"]], fields: ["a", "g"], retentionDays: 90),
                ] + shipping)
            }
            #expect(agreement.flows.last?.rowFilter.destinationCountry != nil, "the drafted shipping flow filters on the recipient's country")
            // Two supply chains at KZ: one shipped to UA, one to DE.
            let files = try cluster.generate("gen-ua", events: 2000, perDocument: 1000, from: "KZ", to: "UA", seed: 21)
                + cluster.generate("gen-de", events: 1000, perDocument: 1000, from: "KZ", to: "DE", seed: 22)
            try cluster.startAll()
            #expect(try kz.capture(files) > 2500)

            let events = try StoreView(kz).events(origin: kz.urn)
            #expect(agreement.flows.map(\.id) == ["kz-packing-to-ua-de", "kz-commissioning-to-de", "kz-shipments-to-ua", "kz-shipments-to-de"])
            let packing = "kz-packing-to-ua-de", commissioning = "kz-commissioning-to-de"
            let shipmentsToUA = "kz-shipments-to-ua", shipmentsToDE = "kz-shipments-to-de"
            let packingAtUA = try expectedShare(of: events, origin: "KZ", recipient: "UA", agreement: agreement, flow: packing)
            let packingAtDE = try expectedShare(of: events, origin: "KZ", recipient: "DE", agreement: agreement, flow: packing)
            let commissioningAtDE = try expectedShare(of: events, origin: "KZ", recipient: "DE", agreement: agreement, flow: commissioning)
            let commissioningAtUA = try expectedShare(of: events, origin: "KZ", recipient: "UA", agreement: agreement, flow: commissioning)
            let shipmentsAtUA = try expectedShare(of: events, origin: "KZ", recipient: "UA", agreement: agreement, flow: shipmentsToUA)
            let shipmentsAtDE = try expectedShare(of: events, origin: "KZ", recipient: "DE", agreement: agreement, flow: shipmentsToDE)
            #expect(packingAtUA.count > 500 && Set(packingAtUA.keys) == Set(packingAtDE.keys))
            #expect(commissioningAtDE.count > 500 && commissioningAtUA.isEmpty)
            #expect(!shipmentsAtUA.isEmpty && !shipmentsAtDE.isEmpty && Set(shipmentsAtUA.keys).isDisjoint(with: shipmentsAtDE.keys),
                    "each shipment is for one destination: \(shipmentsAtUA.count) to UA, \(shipmentsAtDE.count) to DE")

            let packingStream = agreement.stream(packing, origin: "KZ"), commissioningStream = agreement.stream(commissioning, origin: "KZ")
            let shipmentStreams = (ua: agreement.stream(shipmentsToUA, origin: "KZ"), de: agreement.stream(shipmentsToDE, origin: "KZ"))
            let lastPacking = try waitForConvergence(packingStream, from: kz, to: ua, events: packingAtUA.count)
            try waitForConvergence(packingStream, from: kz, to: de, events: packingAtUA.count)
            try waitForConvergence(commissioningStream, from: kz, to: de, events: commissioningAtDE.count)

            // Exactly what the flows say (the shipments are checked on their own below).
            let allShipments = Set(shipmentsAtUA.keys).union(shipmentsAtDE.keys)
            try expectExactly(packingAtUA, at: ua, from: kz, ignoring: allShipments)
            try expectExactly(packingAtDE.merging(commissioningAtDE) { a, _ in a }, at: de, from: kz, ignoring: allShipments)
            // Different fields per flow: UA sees no (a)/(g) members at all; DE sees them only on commissioning events.
            let atUA = try StoreView(ua).events(origin: kz.urn), atDE = try StoreView(de).events(origin: kz.urn)
            #expect(atUA.allSatisfy { $0.object["ilmd"] == nil })
            #expect(atDE.filter { commissioningAtDE[$0.hashID] != nil }.allSatisfy { $0.object["ilmd"]?.objectValue?["tt:brand"] != nil
                && $0.object["ilmd"]?.objectValue?["tt:machineID"] == nil })
            // A shipment never reaches the Party it is not destined for.
            #expect(Set(atUA.map(\.hashID)).isDisjoint(with: shipmentsAtDE.keys), "UA holds a shipment destined for DE")
            #expect(Set(atDE.map(\.hashID)).isDisjoint(with: shipmentsAtUA.keys), "DE holds a shipment destined for UA")

            // UA has no stream it is not a recipient of; both recipients of the shared flow applied the same deltas.
            let uaInbound = try ua.sync().inbound.compactMap { $0["stream"]?.stringValue }
            #expect(!uaInbound.contains(commissioningStream), "\(uaInbound)")
            #expect(try StoreView(ua).receiverState(commissioningStream, origin: kz.urn).deltas.isEmpty)
            #expect(try StoreView(ua).receiverState(packingStream, origin: kz.urn).deltas == StoreView(de).receiverState(packingStream, origin: kz.urn).deltas)
            let outbound = try kz.sync().outbound
            #expect(outbound.filter { $0["stream"]?.stringValue == commissioningStream }.compactMap { $0["recipient"]?.stringValue } == [de.urn])
            #expect(Set(outbound.filter { $0["stream"]?.stringValue == packingStream }.compactMap { $0["recipient"]?.stringValue }) == [ua.urn, de.urn])
            #expect(outbound.filter { $0["stream"]?.stringValue == packingStream }.allSatisfy { $0["acknowledged"]?.int == Int(lastPacking) })

            // The drafted shipping flows, one per recipient: each Party gets exactly the shipments
            // whose tt:destinationCountry is its own code (docs/agreements.md).
            try waitForConvergence(shipmentStreams.ua, from: kz, to: ua, events: shipmentsAtUA.count)
            try waitForConvergence(shipmentStreams.de, from: kz, to: de, events: shipmentsAtDE.count)
            let cutShipments = try StoreView(kz).outbox(shipmentStreams.ua).reduce(0) { $0 + $1.eventCount }
                + StoreView(kz).outbox(shipmentStreams.de).reduce(0) { $0 + $1.eventCount }
            #expect(cutShipments == shipmentsAtUA.count + shipmentsAtDE.count)
            let uaNow = try StoreView(ua).events(origin: kz.urn), deNow = try StoreView(de).events(origin: kz.urn)
            let uaLacks = Set(shipmentsAtUA.keys).subtracting(uaNow.map(\.hashID)).count
            let deLacks = Set(shipmentsAtDE.keys).subtracting(deNow.map(\.hashID)).count
            #expect(Set(uaNow.map(\.hashID)).isDisjoint(with: shipmentsAtDE.keys) && Set(deNow.map(\.hashID)).isDisjoint(with: shipmentsAtUA.keys))
            #expect(uaLacks == 0, "UA lacks \(uaLacks) of its \(shipmentsAtUA.count) shipments")
            #expect(deLacks == 0, "DE lacks \(deLacks) of its \(shipmentsAtDE.count) shipments")
            try cluster.stopAll()
            for node in [kz, ua, de] { #expect(try node.auditIntact(), "audit at \(node.code)") }
        }
    }
}
