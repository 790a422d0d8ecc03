import Foundation
import Model

/// The shape of one synthetic tobacco supply chain: who makes, who imports, through where,
/// and how much. Everything the generator writes follows from these values and the seed.
public struct SupplyChainConfiguration: Sendable, Equatable {
    /// Seeds every random choice (serials, products, timings); same seed, same bytes.
    public var seed: UInt64
    /// The Party where the manufacturer commissions and packs (e.g. KZ).
    public var manufacturer: PartyID
    /// The Party of the importer, the first non-affiliated customer (e.g. UA).
    public var importer: PartyID
    /// The Party where shipments are trans-loaded, or nil for a direct route.
    public var transit: PartyID?
    /// Number of pallets produced and shipped.
    public var pallets: Int
    /// Master cases on a pallet.
    public var casesPerPallet: Int
    /// Cartons in a master case.
    public var cartonsPerCase: Int
    /// Unit packets in a carton.
    public var packsPerCarton: Int
    /// Pallets sent together in one shipment (one truck or wagon; one order and invoice).
    public var palletsPerShipment: Int
    /// Packing lines in the factory, each with its own machine ID and clock.
    public var machines: Int
    /// How many cartons in a thousand see one of their packs deactivated at the line.
    public var deactivationsPerThousandCartons: Int
    /// When production starts (the first shift begins at 06:00 local time on this UTC day).
    public var startDate: Date
    /// The manufacturer's registered name.
    public var manufacturerName: String
    /// The importer's registered name (appears as consignee and first customer).
    public var importerName: String

    /// A configuration with the usual pack hierarchy (10 packs, 50 cartons, 40 cases).
    public init(
        seed: UInt64,
        manufacturer: PartyID,
        importer: PartyID,
        transit: PartyID? = nil,
        pallets: Int,
        casesPerPallet: Int = 40,
        cartonsPerCase: Int = 50,
        packsPerCarton: Int = 10,
        palletsPerShipment: Int = 20,
        machines: Int = 4,
        deactivationsPerThousandCartons: Int = 2,
        startDate: Date = SupplyChainConfiguration.defaultStartDate,
        manufacturerName: String? = nil,
        importerName: String? = nil
    ) {
        self.seed = seed
        self.manufacturer = manufacturer
        self.importer = importer
        self.transit = transit
        self.pallets = pallets
        self.casesPerPallet = casesPerPallet
        self.cartonsPerCase = cartonsPerCase
        self.packsPerCarton = packsPerCarton
        self.palletsPerShipment = palletsPerShipment
        self.machines = machines
        self.deactivationsPerThousandCartons = deactivationsPerThousandCartons
        self.startDate = startDate
        self.manufacturerName = manufacturerName ?? "\(manufacturer.code) Tobacco Manufacturing LLP"
        self.importerName = importerName ?? "\(importer.code) Tobacco Import LLC"
    }

    /// 2025-03-03T00:00:00Z, a fixed default so that output never depends on the clock.
    public static let defaultStartDate = Date(timeIntervalSince1970: 1_740_960_000)

    /// Events in one pallet's production, packing and share of its shipment, without
    /// deactivations: a commissioning and a packing event per carton, one per case, one per pallet.
    var eventsPerPalletExcludingShipment: Int {
        casesPerPallet * (2 * cartonsPerCase + 1) + 1
    }

    /// Events per shipment: order, dispatch, invoice, trans-loading (with a transit Party),
    /// arrival, payment.
    var eventsPerShipment: Int { transit == nil ? 5 : 6 }

    /// A configuration sized to approximately `events` events (KZ → GE → UA by default).
    ///
    /// Above 50 full pallets (about 200,000 events) it keeps the standard hierarchy and picks
    /// the pallet count (within half a pallet, about 2,000 events). Below that it takes as few
    /// pallets as can hold the target and shrinks the cases per pallet and cartons per case to
    /// fit, so small targets land within about 1%. Deactivations (0.2% of cartons, 2 events
    /// each) come on top; `SupplyChainGenerator.summary()` gives the exact count.
    public static func configuration(
        approximateEvents events: Int,
        seed: UInt64,
        manufacturer: PartyID = SupplyChainConfiguration.defaultManufacturer,
        importer: PartyID = SupplyChainConfiguration.defaultImporter,
        transit: PartyID? = SupplyChainConfiguration.defaultTransit,
        casesPerPallet: Int = 40,
        palletsPerShipment: Int = 20
    ) -> SupplyChainConfiguration {
        var configuration = SupplyChainConfiguration(
            seed: seed, manufacturer: manufacturer, importer: importer, transit: transit,
            pallets: 1, casesPerPallet: max(1, casesPerPallet), palletsPerShipment: max(1, palletsPerShipment))
        let target = Double(max(events, 1))
        let fullPallet = Double(configuration.eventsPerPalletExcludingShipment)
            + Double(configuration.eventsPerShipment) / Double(configuration.palletsPerShipment)
        let pallets = Int((target / fullPallet).rounded(.up))
        if pallets > 50 {
            configuration.pallets = Int((target / fullPallet).rounded())
            return configuration
        }
        // Few pallets: fit cases per pallet, then cartons per case, to the per-pallet budget.
        configuration.pallets = pallets
        let shipments = (pallets + configuration.palletsPerShipment - 1) / configuration.palletsPerShipment
        let budget = max(3, (target - Double(shipments * configuration.eventsPerShipment)) / Double(pallets) - 1)
        let standardCase = Double(2 * configuration.cartonsPerCase + 1)
        configuration.casesPerPallet = min(configuration.casesPerPallet, max(1, Int((budget / standardCase).rounded(.up))))
        let cartons = ((budget / Double(configuration.casesPerPallet) - 1) / 2).rounded()
        configuration.cartonsPerCase = min(configuration.cartonsPerCase, max(1, Int(cartons)))
        return configuration
    }
}

extension SupplyChainConfiguration {
    /// Kazakhstan (`urn:fctc:party:KZ`), the default manufacturing Party.
    public static let defaultManufacturer = party("KZ")
    /// Ukraine (`urn:fctc:party:UA`), the default importing Party.
    public static let defaultImporter = party("UA")
    /// Georgia (`urn:fctc:party:GE`), the default transit Party.
    public static let defaultTransit: PartyID? = party("GE")

    private static func party(_ code: String) -> PartyID {
        // Only called with the literal, valid ISO 3166-1 alpha-2 codes above.
        guard let party = try? PartyID(country: code) else {
            preconditionFailure("\(code) is not a valid country code")
        }
        return party
    }
}
