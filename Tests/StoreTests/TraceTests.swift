import Foundation
import Testing
import Model
@testable import Store

/// `EventStore.trace` through time (`TraceWalk`): containers a UIM was in and when, and
/// only the events of each level while it was linked.
@Suite struct TraceTests {
    let pack = "https://id.gs1.org/01/04870001000011/21/PACK1"
    let carton = "https://id.gs1.org/01/14870001000018/21/CARTON1"
    let masterCase = "https://id.gs1.org/01/24870001000015/21/CASE1"
    let pallet1 = "https://id.gs1.org/00/048700010000000011"
    let pallet2 = "https://id.gs1.org/00/048700010000000028"

    func store(_ events: [String]) throws -> (TemporaryDirectory, EventStore) {
        let directory = try TemporaryDirectory()
        let store = try EventStore(path: directory.path("db.sqlite"))
        _ = try store.capture(Fixtures.document(events), origin: Fixtures.kazakhstan, actor: "t", source: "s", documentDigest: "d")
        return (directory, store)
    }

    func ms(_ time: String) throws -> Int64 { try #require(Timestamp.parse(time)).epochMilliseconds }

    func times(_ trace: Trace) -> [String] { trace.events.map(\.eventTime) }

    /// A case taken off one pallet and put on another: the pack was on both, each for a
    /// while, and each pallet's events outside that while are not the pack's.
    @Test func aPackShowsEveryPalletItsCaseWasOn() throws {
        let (_, store) = try store([
            Fixtures.aggregation(parent: carton, children: [pack], time: "2024-01-01T01:00:00Z"),
            Fixtures.aggregation(parent: masterCase, children: [carton], time: "2024-01-01T02:00:00Z"),
            Fixtures.object([pallet2], step: "shipping", time: "2024-01-01T02:30:00Z", action: "OBSERVE"),
            Fixtures.aggregation(parent: pallet1, children: [masterCase], time: "2024-01-01T03:00:00Z"),
            Fixtures.object([pallet1], step: "shipping", time: "2024-01-01T05:00:00Z", action: "OBSERVE"),
            Fixtures.object([pallet1], step: "receiving", time: "2024-01-01T06:00:00Z", action: "OBSERVE"),
            Fixtures.aggregation(parent: pallet1, children: [masterCase], time: "2024-01-01T07:00:00Z", action: "DELETE"),
            Fixtures.aggregation(parent: pallet2, children: [masterCase], time: "2024-01-01T08:00:00Z"),
            Fixtures.object([pallet2], step: "shipping", time: "2024-01-01T09:00:00Z", action: "OBSERVE"),
            Fixtures.object([pallet1], step: "shipping", time: "2024-01-01T10:00:00Z", action: "OBSERVE"),
        ])
        let up = try store.trace(uim: pack)
        #expect(up.levels.map(\.uim) == [pack, carton, masterCase, pallet1, pallet2])
        #expect(up.levels.map(\.depth) == [0, -1, -2, -3, -3])
        #expect(up.levels[3].periods == [Trace.Period(from: try ms("2024-01-01T03:00:00Z"), to: try ms("2024-01-01T07:00:00Z"))])
        #expect(up.levels[4].periods == [Trace.Period(from: try ms("2024-01-01T08:00:00Z"), to: nil)])
        #expect(times(up) == ["2024-01-01T01:00:00.000Z", "2024-01-01T02:00:00.000Z", "2024-01-01T03:00:00.000Z", "2024-01-01T05:00:00.000Z",
                              "2024-01-01T06:00:00.000Z", "2024-01-01T07:00:00.000Z", "2024-01-01T08:00:00.000Z", "2024-01-01T09:00:00.000Z"],
               "not pallet 2's shipping before the case was on it, nor pallet 1's after it left")

        // Down from pallet 1: the case and what was in it, with their history up to when the
        // case left; not the case's packing onto pallet 2 or pallet 2's shipping.
        let down = try store.trace(uim: pallet1)
        #expect(down.levels.map(\.uim) == [pallet1, masterCase, carton, pack])
        #expect(down.levels[1].periods == [Trace.Period(from: try ms("2024-01-01T03:00:00Z"), to: try ms("2024-01-01T07:00:00Z"))])
        #expect(times(down) == ["2024-01-01T01:00:00.000Z", "2024-01-01T02:00:00.000Z", "2024-01-01T03:00:00.000Z", "2024-01-01T05:00:00.000Z",
                                "2024-01-01T06:00:00.000Z", "2024-01-01T07:00:00.000Z", "2024-01-01T10:00:00.000Z"])
    }

    /// EPCIS: a DELETE that names no contents takes everything out of the parent.
    @Test func aDeleteWithoutContentsEmptiesTheParent() throws {
        let (_, store) = try store([
            Fixtures.aggregation(parent: carton, children: [pack], time: "2024-01-01T01:00:00Z"),
            Fixtures.object([carton], step: "shipping", time: "2024-01-01T02:00:00Z", action: "OBSERVE"),
            Fixtures.aggregation(parent: carton, children: [], time: "2024-01-01T03:00:00Z", action: "DELETE"),
            Fixtures.object([carton], step: "shipping", time: "2024-01-01T04:00:00Z", action: "OBSERVE"),
        ])
        let up = try store.trace(uim: pack)
        #expect(up.levels.map(\.uim) == [pack, carton])
        #expect(up.levels[1].periods == [Trace.Period(from: try ms("2024-01-01T01:00:00Z"), to: try ms("2024-01-01T03:00:00Z"))])
        #expect(times(up) == ["2024-01-01T01:00:00.000Z", "2024-01-01T02:00:00.000Z", "2024-01-01T03:00:00.000Z"])
    }

    /// Packed again into the same carton after being taken out: two periods.
    @Test func aUIMPackedTwiceHasTwoPeriods() throws {
        let (_, store) = try store([
            Fixtures.aggregation(parent: carton, children: [pack], time: "2024-01-01T01:00:00Z"),
            Fixtures.aggregation(parent: carton, children: [pack], time: "2024-01-01T02:00:00Z", action: "DELETE"),
            Fixtures.object([carton], step: "shipping", time: "2024-01-01T02:30:00Z", action: "OBSERVE"),
            Fixtures.aggregation(parent: carton, children: [pack], time: "2024-01-01T03:00:00Z"),
        ])
        let up = try store.trace(uim: pack)
        #expect(up.levels.map(\.uim) == [pack, carton])
        #expect(up.levels[1].periods == [Trace.Period(from: try ms("2024-01-01T01:00:00Z"), to: try ms("2024-01-01T02:00:00Z")),
                                         Trace.Period(from: try ms("2024-01-01T03:00:00Z"), to: nil)])
        #expect(!times(up).contains("2024-01-01T02:30:00.000Z"), "shipped while the pack was out")
    }

    /// A packing declared erroneous (an errorDeclaration of it is stored) packs nothing.
    @Test func anErroneousPackingPacksNothing() throws {
        let packing = Fixtures.aggregation(parent: carton, children: [pack], time: "2024-01-01T01:00:00Z")
        let declared = packing.replacingOccurrences(of: #"{"type":"AggregationEvent","#,
                                                    with: #"{"type":"AggregationEvent","errorDeclaration":{"declarationTime":"2024-01-02T00:00:00Z"},"#)
        let (_, store) = try store([packing, declared])
        let up = try store.trace(uim: pack)
        #expect(up.levels.map(\.uim) == [pack])
        #expect(up.events.count == 2, "both stay visible as the pack's own events")
    }

    /// Packed into each other (bad data): the walk ends, each UIM once.
    @Test func aCycleEnds() throws {
        let (_, store) = try store([
            Fixtures.aggregation(parent: carton, children: [pack], time: "2024-01-01T01:00:00Z"),
            Fixtures.aggregation(parent: pack, children: [carton], time: "2024-01-01T02:00:00Z"),
        ])
        let up = try store.trace(uim: pack)
        #expect(Set(up.levels.map(\.uim)) == [pack, carton])
        #expect(up.levels.count == 2)
    }
}
