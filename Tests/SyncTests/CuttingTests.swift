import Foundation
import Testing
import Crypto
import Model
import Policy
import Store
@testable import Sync

/// When the origin cuts deltas, and which of its events go into them.
@Suite("Cutting deltas")
struct CuttingTests {
    static let stream = StreamName(origin: Parties.kz, agreementHash: Agreements.bilateral.agreement.hash, flow: "kz-to-ua-shipments").description

    @Test("Full deltas are cut by count; the partial rest waits for maxAge")
    func byCount() throws {
        let kz = try SyncNode(Parties.kz, agreements: [Agreements.bilateral], limits: CutLimits(maxEvents: 2, maxAge: 60))
        let t0 = Date()
        try kz.capture((1...5).map { Events.commissioning($0) }, now: t0)
        let full = try kz.cut(now: t0, flush: false)
        #expect(full.map(\.eventCount) == [2, 2])
        #expect(full.map(\.sequence) == [1, 2])
        #expect(try kz.cut(now: t0.addingTimeInterval(30), flush: false).isEmpty)   // one event, 30 s old: waits
        let rest = try kz.cut(now: t0.addingTimeInterval(61), flush: false)
        #expect(rest.map(\.eventCount) == [1])
        #expect(rest.map(\.sequence) == [3])
        #expect(rest.first?.previousHash == full.last?.deltaHash)
        #expect(full.last?.previousHash == full.first?.deltaHash)
        #expect(try kz.cut(now: t0.addingTimeInterval(120), flush: true).isEmpty)  // nothing left
        let outbox = try kz.sync.outbox(stream: Self.stream, after: 0, limit: 10)
        #expect(outbox.map(\.sequence) == [1, 2, 3])
        #expect(outbox.map(\.eventCount) == [2, 2, 1])

        // Every event went out exactly once, in capture order.
        let ua = try SyncNode(Parties.ua, agreements: [Agreements.bilateral])
        for delta in outbox { #expect(ua.receive(try kz.parcel(delta)).refusal == nil) }
        #expect(try ua.events().map(\.hashID) == (try kz.events().map(\.hashID)))
    }

    @Test("A partial delta is cut once its oldest event is maxAge old, or at once with flush")
    func byAge() throws {
        let kz = try SyncNode(Parties.kz, agreements: [Agreements.bilateral], limits: CutLimits(maxEvents: 1000, maxAge: 10))
        let t0 = Date()
        try kz.capture([Events.commissioning(1)], now: t0)
        #expect(try kz.cut(now: t0, flush: false).isEmpty)
        #expect(try kz.cut(now: t0.addingTimeInterval(9), flush: false).isEmpty)
        #expect(try kz.sync.outbox(stream: Self.stream, after: 0, limit: 10).isEmpty)
        let aged = try kz.cut(now: t0.addingTimeInterval(10.5), flush: false)
        #expect(aged.map(\.eventCount) == [1])

        try kz.capture([Events.commissioning(2), Events.commissioning(3)], now: t0.addingTimeInterval(11))
        #expect(try kz.cut(now: t0.addingTimeInterval(12), flush: false).isEmpty)
        let flushed = try kz.cut(now: t0.addingTimeInterval(12), flush: true)
        #expect(flushed.map(\.eventCount) == [2])
        #expect(flushed.map(\.sequence) == [2])
    }

    @Test("A delta closes once its payload passes maxPayloadBytes")
    func bySize() throws {
        let kz = try SyncNode(Parties.kz, agreements: [Agreements.bilateral], limits: CutLimits(maxEvents: 1000, maxPayloadBytes: 1, maxAge: 60))
        let t0 = Date()
        try kz.capture([Events.commissioning(1), Events.commissioning(2), Events.commissioning(3)], now: t0)
        #expect(try kz.cut(now: t0, flush: false).map(\.eventCount) == [1, 1, 1])
    }

    @Test("Events outside the row filter are skipped and the cursor moves past them")
    func rowFilterSkips() throws {
        let kz = try SyncNode(Parties.kz, agreements: [Agreements.bilateral])
        try kz.capture([
            Events.packing(1),                                        // AggregationEvent, packing
            Events.commissioning(2, market: "DE"),                    // destined for DE, not the recipient
            Events.commissioning(3, category: "other-tobacco"),       // not cigarettes
            Events.commissioning(4, time: "2025-12-31T23:00:00.000Z"), // before eventTimeFrom
            Events.shipping(5, destination: "BY"),
        ])
        #expect(try kz.cut().isEmpty)
        let lastRow = try kz.count("SELECT max(id) FROM events")
        let stream = try #require(try kz.sync.outboundStreams().first { $0.stream == Self.stream })
        #expect(stream.cursor == Int64(lastRow))
        #expect(stream.lastSequence == 0)

        // One matching event among more non-matching ones: only it travels.
        let kept = try kz.capture([Events.packing(6), Events.commissioning(7), Events.commissioning(8, market: "KZ")])
        let deltas = try kz.cut()
        try #require(deltas.count == 1)
        #expect(deltas[0].eventCount == 1)
        #expect(try kz.sync.outboundStreams().first { $0.stream == Self.stream }?.cursor == Int64(try kz.count("SELECT max(id) FROM events")))
        let ua = try SyncNode(Parties.ua, agreements: [Agreements.bilateral])
        #expect(ua.receive(try kz.parcel(deltas[0])).appliedEvents == 1)
        #expect(try ua.events().map(\.hashID) == [kept.capturedIDs[1]])
    }

    @Test("Many skipped events in a row do not stop the cutter from reaching a matching one")
    func longRunOfSkippedEvents() throws {
        let kz = try SyncNode(Parties.kz, agreements: [Agreements.bilateral], limits: CutLimits(maxEvents: 2, maxAge: 60))
        // More than maxEvents × 4 non-matching events before the one that matches.
        try kz.capture((1...20).map { Events.packing($0) } + [Events.commissioning(99)])
        let deltas = try kz.cut()
        #expect(deltas.map(\.eventCount) == [1])
    }

    @Test("Only this node's own events are streamed: received events are never sent on")
    func onlyLocalEvents() throws {
        let kz = try SyncNode(Parties.kz, agreements: [Agreements.trilateral])
        let ua = try SyncNode(Parties.ua, agreements: [Agreements.trilateral])
        let de = try SyncNode(Parties.de, agreements: [Agreements.trilateral])
        try kz.capture([Events.commissioning(1), Events.commissioning(2)])
        for delta in try kz.cut() {
            let parcel = try kz.parcel(delta)
            #expect(ua.receive(parcel).refusal == nil)
        }
        #expect(try ua.events().count == 2)

        // UA's flow to DE takes everything UA holds, yet UA streams none of KZ's events.
        #expect(try ua.cut().isEmpty)
        let uaStream = StreamName(origin: Parties.ua, agreementHash: Agreements.trilateral.agreement.hash, flow: "ua-to-de").description
        #expect(try ua.sync.outboundStreams().map(\.stream) == [uaStream])

        let own = try ua.capture([Events.commissioning(3, market: "DE", made: "UA")])
        let deltas = try ua.cut()
        #expect(deltas.map(\.eventCount) == [1])
        for delta in deltas { #expect(de.receive(try ua.parcel(delta)).appliedEvents == 1) }
        let atDE = try de.events()
        #expect(atDE.map(\.hashID) == own.capturedIDs)
        #expect(atDE.allSatisfy { $0.origin == Parties.ua.urn })
    }
}
