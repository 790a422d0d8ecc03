import Foundation
import Model

/// Writes a realistic EPCIS 2.0 JSON-LD event stream for one tobacco supply chain:
/// a manufacturer commissions unit packets, packs them into cartons, master cases and
/// pallets, and ships the pallets to an importer in another Party, with the Article 8.4.1
/// data in the `tt:` extension (docs/tobacco-extension.md).
///
/// Per carton (of `packsPerCarton` packs) it writes one commissioning `ObjectEvent` with the
/// carton's packs (one machine batch: the packs the line makes and marks for that carton) and
/// one packing `AggregationEvent` pack → carton. Per master case one packing event
/// carton → case; per pallet one packing event case → pallet. Per shipment of
/// `palletsPerShipment` pallets: order (`TransactionEvent`, po), dispatch (`shipping`),
/// invoice (`TransactionEvent`, inv), trans-loading (`loading`, only with a transit Party),
/// arrival (`receiving`) and payment (`TransactionEvent`, tt payment). A deactivation at the
/// line adds two events: the pack's `decommissioning` and the replacement pack's commissioning.
///
/// Events come in causal order per shipment (order → production → … → payment of shipment 1,
/// then shipment 2), so the stream is not sorted by `eventTime` across shipments. Nothing
/// bigger than one event (or one document) is held in memory.
public struct SupplyChainGenerator: Sendable {
    /// What is generated.
    public let configuration: SupplyChainConfiguration
    let layout: Layout

    /// Checks the configuration and renders the fixed parts (identifiers, names) once.
    public init(_ configuration: SupplyChainConfiguration) throws(GeneratorError) {
        try Self.validate(configuration)
        self.configuration = configuration
        self.layout = Layout(configuration)
    }

    /// Counts per level, the exact number of events, and a few sample packs with the carton,
    /// case and pallet that hold them (for tests and demos that trace a UIM). Cheap: no JSON.
    public func summary() -> SupplyChainSummary {
        let c = configuration
        let cartons = c.pallets * c.casesPerPallet * c.cartonsPerCase
        var deactivated = 0
        var sampleCartons = Set([0, cartons / 2, cartons - 1])
        var samples: [TracedPack] = []
        for carton in 0..<cartons {
            if sampleCartons.contains(carton) {
                sampleCartons.remove(carton)
                let packs = layout.packIndices(carton: carton, deactivationsBefore: deactivated)
                let position = carton == 0 ? 0 : (carton == cartons - 1 ? packs.count - 1 : packs.count / 2)
                let masterCase = carton / c.cartonsPerCase
                let pallet = masterCase / c.casesPerPallet
                let product = layout.productIndex(pallet: pallet)
                samples.append(TracedPack(
                    pack: layout.packURI(product: product, pack: packs[position]),
                    carton: layout.cartonURI(product: product, carton: carton),
                    masterCase: layout.caseURI(masterCase),
                    pallet: layout.palletURI(pallet),
                    shipment: pallet / c.palletsPerShipment))
            }
            if layout.deactivation(carton: carton) != nil { deactivated += 1 }
        }
        let cases = c.pallets * c.casesPerPallet
        let shipments = (c.pallets + c.palletsPerShipment - 1) / c.palletsPerShipment
        let events = 2 * cartons + 2 * deactivated + cases + c.pallets + shipments * c.eventsPerShipment
        return SupplyChainSummary(
            events: events, shipments: shipments, pallets: c.pallets, cases: cases, cartons: cartons,
            packsCommissioned: cartons * c.packsPerCarton + deactivated, packsDeactivated: deactivated,
            samplePacks: samples)
    }

    /// Calls `body` with each event as the bytes of one JSON object, in document order.
    /// The generator reuses one buffer; keeping the array is safe (copy-on-write) but costs a copy.
    public func forEachEvent<E: Error>(_ body: (_ eventJSON: [UInt8]) throws(E) -> Void) throws(E) {
        try generate { (event: [UInt8], _: Int64) throws(E) in try body(event) }
    }

    /// Calls `body` with whole EPCIS 2.0 JSON-LD documents of at most `eventsPerDocument`
    /// events each. `creationDate` is the latest `eventTime` in the document, so the output
    /// depends only on the configuration.
    public func forEachDocument<E: Error>(
        eventsPerDocument: Int, _ body: (_ document: [UInt8]) throws(E) -> Void
    ) throws(E) {
        precondition(eventsPerDocument >= 1, "a document holds at least one event")
        var events = JSONWriter(capacity: 1 << 16)
        var count = 0
        var latest = Int64.min
        func flush() throws(E) {
            var document = JSONWriter(capacity: events.bytes.count + 512)
            document.raw(#"{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"tt":"https://ns.fedtrace.org/tobacco/1/"}],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":""#)
            document.timestamp(milliseconds: latest)
            document.raw(#"","epcisBody":{"eventList":["#)
            document.raw(events.bytes)
            document.raw("]}}")
            try body(document.bytes)
            events.bytes.removeAll(keepingCapacity: true)
            count = 0
            latest = .min
        }
        try generate { (event: [UInt8], time: Int64) throws(E) in
            if count > 0 { events.byte(UInt8(ascii: ",")) }
            events.raw(event)
            count += 1
            latest = max(latest, time)
            if count == eventsPerDocument { try flush() }
        }
        if count > 0 { try flush() }
    }

    static func validate(_ c: SupplyChainConfiguration) throws(GeneratorError) {
        func fail(_ reason: String) -> GeneratorError { GeneratorError(code: "generator.configuration", reason: reason) }
        guard c.pallets >= 1, c.casesPerPallet >= 1, c.cartonsPerCase >= 1, c.packsPerCarton >= 1,
              c.palletsPerShipment >= 1 else {
            throw fail("pallets, cases per pallet, cartons per case, packs per carton and pallets per shipment must all be at least 1")
        }
        guard (1...99).contains(c.machines) else { throw fail("machines must be between 1 and 99") }
        guard (0...1000).contains(c.deactivationsPerThousandCartons) else {
            throw fail("deactivations per thousand cartons must be between 0 and 1000")
        }
        let parties = [c.manufacturer, c.importer] + (c.transit.map { [$0] } ?? [])
        guard parties.allSatisfy({ $0.kind == .party }) else { throw fail("manufacturer, importer and transit must be country Parties, not the hub") }
        guard Set(parties).count == parties.count else { throw fail("manufacturer, importer and transit must be different Parties") }
        let (cases, overflow1) = c.pallets.multipliedReportingOverflow(by: c.casesPerPallet)
        let (cartons, overflow2) = cases.multipliedReportingOverflow(by: c.cartonsPerCase)
        let (packs, overflow3) = cartons.multipliedReportingOverflow(by: c.packsPerCarton + 1)
        guard !overflow1, !overflow2, !overflow3, c.pallets < Int(SerialNumbers.palletBound),
              cases < Int(SerialNumbers.caseBound), UInt64(packs) < SerialNumbers.alphanumericBound else {
            throw fail("too many pallets, cases or packs for the serial number ranges")
        }
        guard c.startDate.timeIntervalSince1970 >= 0, c.startDate.timeIntervalSince1970 < 200_000_000_000 else {
            throw fail("start date must lie after 1970 and before year 8000")
        }
    }
}

/// What a generated supply chain contains.
public struct SupplyChainSummary: Sendable, Equatable {
    /// Total events written (exact).
    public var events: Int
    /// Shipments (each with order, dispatch, invoice, trans-loading, arrival and payment).
    public var shipments: Int
    /// Pallets (SSCC).
    public var pallets: Int
    /// Master cases (SSCC).
    public var cases: Int
    /// Cartons (SGTIN with the carton GTIN).
    public var cartons: Int
    /// Unit packets commissioned, including those later deactivated.
    public var packsCommissioned: Int
    /// Unit packets deactivated at the line (each replaced by a fresh pack).
    public var packsDeactivated: Int
    /// The first pack, one from the middle and the last pack, with their containers.
    public var samplePacks: [TracedPack]
}

/// A unit packet's UIM and the UIMs of the carton, master case and pallet it travels in.
public struct TracedPack: Sendable, Equatable {
    /// The unit packet's SGTIN Digital Link URI.
    public var pack: String
    /// The carton's SGTIN Digital Link URI.
    public var carton: String
    /// The master case's SSCC Digital Link URI.
    public var masterCase: String
    /// The pallet's SSCC Digital Link URI.
    public var pallet: String
    /// Index of the shipment (from 0) that carries the pallet.
    public var shipment: Int
}
