import Foundation
import Model
import Testing
@testable import Generator

/// Small chains (a few hundred events) so the suite stays fast; a high deactivation rate
/// so deactivations actually occur.
func smallConfiguration(seed: UInt64 = 7, transit: PartyID? = SupplyChainConfiguration.defaultTransit,
                        deactivations: Int = 100) -> SupplyChainConfiguration {
    SupplyChainConfiguration(
        seed: seed, manufacturer: SupplyChainConfiguration.defaultManufacturer,
        importer: SupplyChainConfiguration.defaultImporter, transit: transit,
        pallets: 3, casesPerPallet: 4, cartonsPerCase: 5, packsPerCarton: 10,
        palletsPerShipment: 2, deactivationsPerThousandCartons: deactivations)
}

func parsedEvents(_ configuration: SupplyChainConfiguration) throws -> [[String: Any]] {
    var result: [[String: Any]] = []
    try SupplyChainGenerator(configuration).forEachEvent { bytes in
        let object = try JSONSerialization.jsonObject(with: Data(bytes))
        result.append(try #require(object as? [String: Any]))
    }
    return result
}

func allBytes(_ configuration: SupplyChainConfiguration) throws -> [[UInt8]] {
    var result: [[UInt8]] = []
    try SupplyChainGenerator(configuration).forEachEvent { result.append($0) }
    return result
}

extension [String: Any] {
    var bizStep: String? { self["bizStep"] as? String }
    var epcs: [String] { (self["epcList"] as? [String]) ?? [] }
    var children: [String] { (self["childEPCs"] as? [String]) ?? [] }
    var parent: String? { self["parentID"] as? String }
    var eventTime: Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return (self["eventTime"] as? String).flatMap(formatter.date(from:))
    }
}

@Suite struct SupplyChainGeneratorTests {
    @Test func sameSeedGivesIdenticalBytes() throws {
        var first: [[UInt8]] = []
        var second: [[UInt8]] = []
        let generator = try SupplyChainGenerator(smallConfiguration())
        generator.forEachDocument(eventsPerDocument: 40) { first.append($0) }
        try SupplyChainGenerator(smallConfiguration()).forEachDocument(eventsPerDocument: 40) { second.append($0) }
        #expect(first == second)
        #expect(first.count > 1)
    }

    @Test func differentSeedsGiveDifferentSerials() throws {
        func packs(_ seed: UInt64) throws -> Set<String> {
            Set(try parsedEvents(smallConfiguration(seed: seed)).filter { $0.bizStep == "commissioning" }.flatMap(\.epcs))
        }
        let a = try packs(1)
        let b = try packs(2)
        #expect(!a.isEmpty)
        #expect(a.isDisjoint(with: b))
    }

    @Test func documentsHaveTheEPCISDocumentShape() throws {
        let configuration = smallConfiguration()
        var total = 0
        try SupplyChainGenerator(configuration).forEachDocument(eventsPerDocument: 50) { bytes in
            let document = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            #expect(document["type"] as? String == "EPCISDocument")
            #expect(document["schemaVersion"] as? String == "2.0")
            let context = try #require(document["@context"] as? [Any])
            #expect(context.first as? String == "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld")
            #expect((context.last as? [String: String])?["tt"] == "https://ns.fedtrace.org/tobacco/1/")
            let creation = try #require(document["creationDate"] as? String)
            #expect(creation.hasSuffix("Z") && creation.count == 24)
            let body = try #require(document["epcisBody"] as? [String: Any])
            let list = try #require(body["eventList"] as? [[String: Any]])
            #expect((1...50).contains(list.count))
            let latest = list.compactMap(\.eventTime).max()
            #expect(latest.map { ISO8601DateFormatter.fractional.string(from: $0) } == creation)
            total += list.count
        }
        #expect(total == (try SupplyChainGenerator(configuration).summary().events))
    }

    @Test func countsPerLevelMatchTheConfiguration() throws {
        let configuration = smallConfiguration()
        let events = try parsedEvents(configuration)
        let summary = try SupplyChainGenerator(configuration).summary()
        #expect(events.count == summary.events)
        let packing = events.filter { $0.bizStep == "packing" }
        let cartons = packing.filter { $0.children.first?.contains("/01/0") == true }
        let cases = packing.filter { $0.children.first?.contains("/01/1") == true }
        let pallets = packing.filter { $0.parent.map { $0.contains("/00/") } == true && $0.children.first?.contains("/00/") == true }
        #expect(cartons.count == 3 * 4 * 5)
        #expect(cartons.allSatisfy { $0.children.count == 10 })
        #expect(cases.count == 3 * 4)
        #expect(cases.allSatisfy { $0.children.count == 5 })
        #expect(pallets.count == 3)
        #expect(pallets.allSatisfy { $0.children.count == 4 })
        let commissioned = events.filter { $0.bizStep == "commissioning" }.flatMap(\.epcs)
        let deactivated = events.filter { $0.bizStep == "decommissioning" }.flatMap(\.epcs)
        #expect(commissioned.count == summary.packsCommissioned)
        #expect(deactivated.count == summary.packsDeactivated)
        #expect(summary.packsDeactivated > 0, "the test configuration should exercise deactivation")
        #expect(commissioned.count == 3 * 4 * 5 * 10 + deactivated.count)
        #expect(Set(commissioned).count == commissioned.count)
        // Two shipments (2 + 1 pallets), each: order, dispatch, invoice, loading, receiving, payment.
        for step in ["shipping", "loading", "receiving", "holding"] {
            #expect(events.filter { $0.bizStep == step }.count == 2, "\(step)")
        }
        #expect(events.filter { $0["type"] as? String == "TransactionEvent" }.count == 6)
    }

    @Test func aggregationIsConsistent() throws {
        let events = try parsedEvents(smallConfiguration())
        var parentOf: [String: String] = [:]
        for event in events where event.bizStep == "packing" {
            let parent = try #require(event.parent)
            for child in event.children {
                #expect(parentOf[child] == nil, "\(child) packed twice")
                parentOf[child] = parent
            }
        }
        let commissioned = Set(events.filter { $0.bizStep == "commissioning" }.flatMap(\.epcs))
        let deactivated = Set(events.filter { $0.bizStep == "decommissioning" }.flatMap(\.epcs))
        #expect(deactivated.isSubset(of: commissioned))
        let shipped = Set(events.filter { $0.bizStep == "shipping" }.flatMap(\.epcs))
        // Every live pack reaches a shipped pallet through carton and case; no deactivated pack is packed.
        for pack in commissioned.subtracting(deactivated) {
            let carton = try #require(parentOf[pack])
            let masterCase = try #require(parentOf[carton])
            let pallet = try #require(parentOf[masterCase])
            #expect(shipped.contains(pallet))
            #expect(parentOf[pallet] == nil)
        }
        #expect(deactivated.allSatisfy { parentOf[$0] == nil })
    }

    @Test func samplePacksCanBeTraced() throws {
        let configuration = smallConfiguration()
        let summary = try SupplyChainGenerator(configuration).summary()
        let events = try parsedEvents(configuration)
        #expect(summary.samplePacks.count == 3)
        for sample in summary.samplePacks {
            #expect(events.contains { $0.parent == sample.carton && $0.children.contains(sample.pack) })
            #expect(events.contains { $0.parent == sample.masterCase && $0.children.contains(sample.carton) })
            #expect(events.contains { $0.parent == sample.pallet && $0.children.contains(sample.masterCase) })
            #expect(events.contains { $0.bizStep == "shipping" && $0.epcs.contains(sample.pallet) })
        }
        #expect(summary.samplePacks.last?.shipment == 1)
    }

    @Test func identifiersAreDigitalLinksWithValidCheckDigits() throws {
        let events = try parsedEvents(smallConfiguration())
        var identifiers: [String] = []
        for event in events {
            identifiers += event.epcs + event.children + (event.parent.map { [$0] } ?? [])
        }
        #expect(!identifiers.isEmpty)
        let sgtin = /^https:\/\/id\.gs1\.org\/01\/(\d{14})\/21\/[0-9A-Z]{10}$/
        let sscc = /^https:\/\/id\.gs1\.org\/00\/(\d{18})$/
        for identifier in identifiers {
            if let match = identifier.wholeMatch(of: sgtin) {
                #expect(GS1.hasValidCheckDigit(String(match.1)), "\(identifier)")
            } else if let match = identifier.wholeMatch(of: sscc) {
                #expect(GS1.hasValidCheckDigit(String(match.1)), "\(identifier)")
            } else {
                Issue.record("not a GS1 Digital Link UIM: \(identifier)")
            }
        }
        let gln = /^https:\/\/id\.gs1\.org\/41[47]\/(\d{13})$/
        for event in events {
            for key in ["readPoint", "bizLocation"] {
                guard let id = (event[key] as? [String: String])?["id"] else { continue }
                let match = try #require(id.wholeMatch(of: gln), "\(id)")
                #expect(GS1.hasValidCheckDigit(String(match.1)))
            }
        }
    }

    @Test func everyEventHasTheRequiredEPCISFields() throws {
        let events = try parsedEvents(smallConfiguration())
        let time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})$/
        let offset = /^[+-]\d{2}:\d{2}$/
        for event in events {
            let type = try #require(event["type"] as? String)
            #expect(["ObjectEvent", "AggregationEvent", "TransactionEvent"].contains(type))
            #expect((event["eventTime"] as? String)?.wholeMatch(of: time) != nil)
            #expect((event["eventTimeZoneOffset"] as? String)?.wholeMatch(of: offset) != nil)
            #expect(["ADD", "OBSERVE", "DELETE"].contains(event["action"] as? String))
            #expect(event.bizStep != nil)
            #expect((event["readPoint"] as? [String: String])?["id"] != nil)
            switch type {
            case "ObjectEvent": #expect(!event.epcs.isEmpty)
            case "AggregationEvent": #expect(event.parent != nil && !event.children.isEmpty)
            default:
                let transactions = try #require(event["bizTransactionList"] as? [[String: String]])
                #expect(!transactions.isEmpty && transactions.allSatisfy { $0["type"] != nil && $0["bizTransaction"] != nil })
            }
        }
    }

    @Test func tobaccoExtensionFieldsArePresentWhereTheContractSays() throws {
        let events = try parsedEvents(smallConfiguration())
        for event in events where event.bizStep == "commissioning" {
            let ilmd = try #require(event["ilmd"] as? [String: String])
            #expect(ilmd["tt:manufactureCountry"] == "KZ")
            #expect(ilmd["tt:intendedMarket"] == "UA")
            #expect(["1", "2", "3"].contains(ilmd["tt:productionShift"]))
            #expect(["cigarettes", "other-tobacco"].contains(ilmd["tt:productCategory"]))
            for key in ["tt:facilityID", "tt:machineID", "tt:productionTime", "tt:productDescription", "tt:brand"] {
                #expect(ilmd[key]?.isEmpty == false, "\(key)")
            }
            #expect(ilmd["tt:productionTime"]?.hasSuffix("+05:00") == true)
            #expect(event["eventTimeZoneOffset"] as? String == "+05:00")
            #expect(event["disposition"] as? String == "active")
        }
        for event in events where event.bizStep == "shipping" {
            #expect(event["disposition"] as? String == "in_transit")
            #expect(event["tt:intendedRoute"] as? [String] == ["KZ", "GE", "UA"])
            #expect(event["tt:destinationCountry"] as? String == "UA")
            #expect(event["tt:pointOfDeparture"] as? String != nil)
            let consignee = try #require(event["tt:consignee"] as? [String: String])
            #expect(consignee["tt:country"] == "UA" && consignee["tt:name"] != nil && consignee["tt:identifier"] != nil)
            let transport = try #require(event["tt:transport"] as? [String: String])
            #expect(["road", "rail"].contains(transport["tt:mode"]) && transport["tt:vehicle"] != nil)
            let sources = try #require(event["sourceList"] as? [[String: String]])
            let destinations = try #require(event["destinationList"] as? [[String: String]])
            #expect(Set(sources.compactMap { $0["type"] }) == ["owning_party", "location"])
            #expect(Set(destinations.compactMap { $0["type"] }) == ["owning_party", "location"])
        }
        #expect(events.filter { $0.bizStep == "loading" }.allSatisfy { $0["eventTimeZoneOffset"] as? String == "+04:00" })
        #expect(events.filter { $0.bizStep == "receiving" }.allSatisfy { ["+02:00", "+03:00"].contains($0["eventTimeZoneOffset"] as? String) })
        let transactions = events.filter { $0["type"] as? String == "TransactionEvent" }
        for event in transactions {
            let customer = try #require(event["tt:firstCustomer"] as? [String: String])
            #expect(customer["tt:name"] == "UA Tobacco Import LLC" && customer["tt:country"] == "UA")
        }
        let types = Set(transactions.flatMap { ($0["bizTransactionList"] as? [[String: String]] ?? []).compactMap { $0["type"] } })
        #expect(types == ["po", "inv", "https://ns.fedtrace.org/tobacco/1/BTT-payment"])
        for event in events where event.bizStep == "decommissioning" {
            #expect(event["action"] as? String == "DELETE")
            #expect(Layout.deactivationReasons.contains(event["tt:deactivationReason"] as? String ?? ""))
        }
    }

    @Test func eventsAreDistinct() throws {
        let bytes = try allBytes(smallConfiguration())
        #expect(Set(bytes).count == bytes.count)
        // Distinct in what the CBV event hash covers, not only in bytes: no two events share
        // type, time, identifiers and bizStep.
        let events = try parsedEvents(smallConfiguration())
        let keys = events.map { "\($0["type"]!)|\($0["eventTime"]!)|\($0.epcs)|\($0.parent ?? "")|\($0.children)|\($0.bizStep!)" }
        #expect(Set(keys).count == keys.count)
    }

    @Test func timeMovesForwardAlongEachPallet() throws {
        let events = try parsedEvents(smallConfiguration())
        var timeOf: [String: Date] = [:] // latest event time seen per identifier
        for event in events {
            let time = try #require(event.eventTime)
            for identifier in event.epcs + event.children {
                if let previous = timeOf[identifier] { #expect(previous < time, "\(identifier) goes back in time") }
                timeOf[identifier] = time
            }
            if let parent = event.parent {
                for child in event.children { #expect(timeOf[child].map { $0 <= time } ?? false) }
                timeOf[parent] = time
            }
        }
        let shipping = events.filter { $0.bizStep == "shipping" }.compactMap(\.eventTime)
        let payment = events.filter { ($0["bizTransactionList"] as? [[String: String]])?.count == 3 }.compactMap(\.eventTime)
        #expect(zip(shipping, payment).allSatisfy { $1.timeIntervalSince($0) > 10 * 86_400 })
    }

    @Test func directRouteHasNoTransLoading() throws {
        let events = try parsedEvents(smallConfiguration(transit: nil))
        #expect(!events.contains { $0.bizStep == "loading" })
        #expect(events.filter { $0.bizStep == "shipping" }.allSatisfy { $0["tt:intendedRoute"] as? [String] == ["KZ", "UA"] })
        #expect(events.count == (try SupplyChainGenerator(smallConfiguration(transit: nil)).summary().events))
    }

    @Test func namesAreEscaped() throws {
        var configuration = smallConfiguration()
        configuration.importerName = "Import \"Quote\" \\ Co"
        let events = try parsedEvents(configuration)
        let shipping = try #require(events.first { $0.bizStep == "shipping" })
        #expect((shipping["tt:consignee"] as? [String: String])?["tt:name"] == "Import \"Quote\" \\ Co")
    }

    @Test func invalidConfigurationsAreRejected() throws {
        var configuration = smallConfiguration()
        configuration.pallets = 0
        #expect(throws: GeneratorError.self) { try SupplyChainGenerator(configuration) }
        configuration = smallConfiguration()
        configuration.importer = configuration.manufacturer
        #expect(throws: GeneratorError.self) { try SupplyChainGenerator(configuration) }
        configuration = smallConfiguration()
        configuration.transit = try PartyID(hub: "hub")
        #expect(throws: GeneratorError.self) { try SupplyChainGenerator(configuration) }
    }
}

extension ISO8601DateFormatter {
    /// `2025-03-03T01:00:01.614Z`
    static var fractional: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}

/// Throughput, off by default: `GENERATOR_THROUGHPUT_EVENTS=1000000 swift test -c release
/// -Xswiftc -enable-testing --filter throughput` prints events per second.
@Suite struct SupplyChainGeneratorThroughputTests {
    static let target = ProcessInfo.processInfo.environment["GENERATOR_THROUGHPUT_EVENTS"].flatMap(Int.init)

    @Test(.enabled(if: target != nil)) func throughput() throws {
        let generator = try SupplyChainGenerator(.configuration(approximateEvents: Self.target ?? 0, seed: 1))
        var events = 0
        var bytes = 0
        let clock = ContinuousClock()
        let eventsElapsed = clock.measure {
            generator.forEachEvent { events += 1; bytes += $0.count }
        }
        var documents = 0
        let documentsElapsed = clock.measure {
            generator.forEachDocument(eventsPerDocument: 1000) { documents += 1; bytes &+= $0.count }
        }
        func perSecond(_ duration: Duration) -> Int {
            Int(Double(events) / (Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18))
        }
        print("generator: \(events) events, \(bytes / 2 / max(events, 1)) bytes/event average; forEachEvent \(eventsElapsed) = \(perSecond(eventsElapsed)) events/s; forEachDocument(1000) \(documents) documents in \(documentsElapsed) = \(perSecond(documentsElapsed)) events/s")
    }

    /// At volume: every event distinct, every pack serial distinct, a sample of events parses.
    @Test(.enabled(if: target != nil)) func largeRunIsDistinctAndParses() throws {
        let generator = try SupplyChainGenerator(.configuration(approximateEvents: Self.target ?? 0, seed: 2))
        var hashes = Set<Int>()
        var serials = Set<Int>()
        var index = 0
        try generator.forEachEvent { bytes in
            #expect(hashes.insert(bytes.hashValue).inserted)
            if index % 997 == 0 {
                _ = try JSONSerialization.jsonObject(with: Data(bytes))
            }
            index += 1
        }
        #expect(index == generator.summary().events)
        for pack in 0..<generator.summary().packsCommissioned {
            #expect(serials.insert(Int(generator.layout.serials.packValue(pack))).inserted)
        }
    }
}
