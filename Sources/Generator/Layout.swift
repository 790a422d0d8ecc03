import Foundation
import Model

/// The fixed parts of one generated supply chain, rendered once: company prefixes, GLNs,
/// products, names, and the JSON fragments the event writer copies into every event.
/// Structural choices (product per pallet, which cartons see a deactivation) are hashes of
/// the seed and an index, so `summary()` can recompute them without writing events.
struct Layout: Sendable {
    struct Product: Sendable {
        let packGTIN: String
        let cartonGTIN: String
        /// `"https://id.gs1.org/01/<pack GTIN>/21/` (with the opening quote).
        let packURIPrefix: [UInt8]
        let cartonURIPrefix: [UInt8]
        /// `"tt:intendedMarket":…,"tt:productDescription":…,"tt:productCategory":…,"tt:brand":…}` (closes `ilmd`)
        let ilmdTail: [UInt8]
    }

    let seed: UInt64
    let packsPerCarton: Int
    let deactivationsPerThousand: Int
    let serials: SerialNumbers
    let manufacturerCountry: CountryProfile
    let importerCountry: CountryProfile
    let transitCountry: CountryProfile?
    let manufacturerPrefix: String
    let importerPrefix: String
    let products: [Product]
    /// `,"readPoint":{"id":"<line GLN>"},"bizLocation":{"id":"<facility GLN>"},"ilmd":{… "tt:productionShift":"`
    /// for each machine.
    let commissioningFragments: [[UInt8]]
    /// Readpoint and business location of the line, for decommissioning.
    let lineLocationFragments: [[UInt8]]
    let packingLocation: [UInt8]
    let dispatchLocation: [UInt8]
    let sourceAndDestination: [UInt8]
    let shippingExtension: [UInt8]
    let transitLocation: [UInt8]
    let receivingLocation: [UInt8]
    let manufacturerOfficeLocation: [UInt8]
    let firstCustomer: [UInt8]
    let manufacturerGLN: String
    let importerGLN: String
    /// Six characters from the seed, so business-transaction IDs differ between seeds.
    let seedTagBytes: [UInt8]
    /// Extension digit `0` and the manufacturer's company prefix: the first 8 SSCC digits.
    let ssccCasePrefixBytes: [UInt8]

    static let deactivationReasons = ["ui-destroyed", "product-destroyed", "ui-unused"]

    init(_ c: SupplyChainConfiguration) {
        seed = c.seed
        packsPerCarton = c.packsPerCarton
        deactivationsPerThousand = c.deactivationsPerThousandCartons
        serials = SerialNumbers(seed: c.seed)
        manufacturerCountry = CountryProfile(c.manufacturer)
        importerCountry = CountryProfile(c.importer)
        transitCountry = c.transit.map(CountryProfile.init)
        let manufacturerPrefix = manufacturerCountry.gs1Prefix + "0001"
        let importerPrefix = importerCountry.gs1Prefix + "0002"
        self.manufacturerPrefix = manufacturerPrefix
        self.importerPrefix = importerPrefix
        ssccCasePrefixBytes = Array(("0" + manufacturerPrefix).utf8)
        var tagSource = SplitMix64(seed: c.seed ^ 0x5441_4753)
        seedTagBytes = Array(SerialNumbers.alphanumeric(tagSource.next() % SerialNumbers.alphanumericBound).utf8.suffix(6))

        func q(_ text: String) -> String { String(decoding: JSONWriter.quoted(text), as: UTF8.self) }
        func location(_ gln: String) -> String { q(GS1.locationURI(gln: gln)) }

        manufacturerGLN = GS1.gln13(companyPrefix: manufacturerPrefix, locationReference: 0)
        let facilityGLN = GS1.gln13(companyPrefix: manufacturerPrefix, locationReference: 1)
        let dockGLN = GS1.gln13(companyPrefix: manufacturerPrefix, locationReference: 2)
        let packingGLN = GS1.gln13(companyPrefix: manufacturerPrefix, locationReference: 3)
        importerGLN = GS1.gln13(companyPrefix: importerPrefix, locationReference: 0)
        let importerWarehouseGLN = GS1.gln13(companyPrefix: importerPrefix, locationReference: 1)
        let importerDockGLN = GS1.gln13(companyPrefix: importerPrefix, locationReference: 2)

        let facilityID = "\(c.manufacturer.code)-F0001"
        let market = c.importer.code
        products = Self.catalog.enumerated().map { index, entry in
            let packGTIN = GS1.gtin14(indicator: 0, companyPrefix: manufacturerPrefix, itemReference: index + 1)
            let cartonGTIN = GS1.gtin14(indicator: 1, companyPrefix: manufacturerPrefix, itemReference: index + 1)
            let tail = #""tt:intendedMarket":\#(q(market)),"tt:productDescription":\#(q(entry.description)),"tt:productCategory":\#(q(entry.category)),"tt:brand":\#(q(entry.brand))}"#
            return Product(
                packGTIN: packGTIN, cartonGTIN: cartonGTIN,
                packURIPrefix: Array("\"https://id.gs1.org/01/\(packGTIN)/21/".utf8),
                cartonURIPrefix: Array("\"https://id.gs1.org/01/\(cartonGTIN)/21/".utf8),
                ilmdTail: Array(tail.utf8))
        }
        commissioningFragments = (0..<c.machines).map { machine in
            let lineGLN = GS1.gln13(companyPrefix: manufacturerPrefix, locationReference: 11 + machine)
            let machineID = facilityID + "-M" + GS1.zeroPadded(machine + 1, width: 2)
            return Array(#","readPoint":{"id":\#(location(lineGLN))},"bizLocation":{"id":\#(location(facilityGLN))},"ilmd":{"tt:manufactureCountry":\#(q(c.manufacturer.code)),"tt:facilityID":\#(q(facilityID)),"tt:machineID":\#(q(machineID)),"tt:productionShift":""#.utf8)
        }
        lineLocationFragments = (0..<c.machines).map { machine in
            let lineGLN = GS1.gln13(companyPrefix: manufacturerPrefix, locationReference: 11 + machine)
            return Array(#","readPoint":{"id":\#(location(lineGLN))},"bizLocation":{"id":\#(location(facilityGLN))}"#.utf8)
        }
        packingLocation = Array(#","readPoint":{"id":\#(location(packingGLN))},"bizLocation":{"id":\#(location(facilityGLN))}"#.utf8)
        dispatchLocation = Array(#","readPoint":{"id":\#(location(dockGLN))}"#.utf8)
        manufacturerOfficeLocation = Array(#","readPoint":{"id":\#(location(manufacturerGLN))},"bizLocation":{"id":\#(location(facilityGLN))}"#.utf8)
        receivingLocation = Array(#","readPoint":{"id":\#(location(importerDockGLN))},"bizLocation":{"id":\#(location(importerWarehouseGLN))}"#.utf8)
        sourceAndDestination = Array(#","sourceList":[{"type":"owning_party","source":\#(q(GS1.partyURI(gln: manufacturerGLN)))},{"type":"location","source":\#(location(facilityGLN))}],"destinationList":[{"type":"owning_party","destination":\#(q(GS1.partyURI(gln: importerGLN)))},{"type":"location","destination":\#(location(importerWarehouseGLN))}]"#.utf8)
        let route = ([c.manufacturer.code] + (c.transit.map { [$0.code] } ?? []) + [c.importer.code]).map(q).joined(separator: ",")
        let party = #"{"tt:name":\#(q(c.importerName)),"tt:identifier":\#(q(GS1.partyURI(gln: importerGLN))),"tt:country":\#(q(c.importer.code))}"#
        shippingExtension = Array(#","tt:intendedRoute":[\#(route)],"tt:pointOfDeparture":\#(location(dockGLN)),"tt:destinationCountry":\#(q(c.importer.code)),"tt:consignee":\#(party)"#.utf8)
        firstCustomer = Array(#","tt:firstCustomer":\#(party)"#.utf8)
        if let profile = transitCountry {
            let terminalGLN = GS1.gln13(companyPrefix: profile.gs1Prefix + "0003", locationReference: 1)
            transitLocation = Array(#","readPoint":{"id":\#(location(terminalGLN))},"bizLocation":{"id":\#(location(terminalGLN))}"#.utf8)
        } else {
            transitLocation = []
        }
    }

    /// Synthetic brands (invented names) with their EU-style product descriptions.
    static let catalog: [(brand: String, description: String, category: String)] = [
        ("Steppe Gold", "Steppe Gold King Size Filter, 20 cigarettes", "cigarettes"),
        ("Nomad Blue", "Nomad Blue Superslims, 20 cigarettes", "cigarettes"),
        ("Tengri Red", "Tengri Red King Size Filter, 20 cigarettes", "cigarettes"),
        ("Altai Fresh", "Altai Fresh Compact Menthol, 20 cigarettes", "cigarettes"),
        ("Saryarka", "Saryarka Fine-Cut Tobacco, 40 g pouch", "other-tobacco"),
    ]

    // MARK: Structural choices (pure functions of the seed and an index)

    static func hash(_ seed: UInt64, _ salt: UInt64, _ index: Int) -> UInt64 {
        var rng = SplitMix64(seed: seed ^ (salt &* 0xD1B5_4A32_D192_ED03) ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
        return rng.next()
    }

    /// The product packed on a pallet (a pallet holds a single product, as in practice).
    func productIndex(pallet: Int) -> Int {
        Int(Self.hash(seed, 0x50, pallet) % UInt64(products.count))
    }

    /// Whether a pack of this carton is deactivated at the line: the position in the carton
    /// and the reason, or nil.
    func deactivation(carton: Int) -> (position: Int, reason: Int)? {
        guard deactivationsPerThousand > 0 else { return nil }
        let h = Self.hash(seed, 0xDE, carton)
        guard Int(h % 1000) < deactivationsPerThousand else { return nil }
        return (Int((h >> 16) % UInt64(packsPerCarton)), Int((h >> 40) % UInt64(Self.deactivationReasons.count)))
    }

    /// The pack indices a carton finally holds, given how many deactivations came before it
    /// (each deactivation uses one extra pack index for the replacement).
    func packIndices(carton: Int, deactivationsBefore: Int) -> [Int] {
        let first = carton * packsPerCarton + deactivationsBefore
        var packs = Array(first..<(first + packsPerCarton))
        if let (position, _) = deactivation(carton: carton) {
            packs[position] = first + packsPerCarton
        }
        return packs
    }

    // MARK: Identifiers as strings (for summaries and tests)

    func packURI(product: Int, pack: Int) -> String {
        GS1.sgtinURI(gtin: products[product].packGTIN, serial: SerialNumbers.alphanumeric(serials.packValue(pack)))
    }

    func cartonURI(product: Int, carton: Int) -> String {
        GS1.sgtinURI(gtin: products[product].cartonGTIN, serial: SerialNumbers.alphanumeric(serials.cartonValue(carton)))
    }

    func caseURI(_ masterCase: Int) -> String {
        GS1.ssccURI(GS1.sscc18(extensionDigit: 0, companyPrefix: manufacturerPrefix, serialReference: serials.caseReference(masterCase)))
    }

    func palletURI(_ pallet: Int) -> String {
        GS1.ssccURI(GS1.sscc18(extensionDigit: 0, companyPrefix: manufacturerPrefix, serialReference: serials.palletReference(pallet)))
    }
}
