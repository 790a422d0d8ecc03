import Testing
@testable import Generator

@Suite struct SupplyChainConfigurationTests {
    @Test(arguments: [50, 300, 1_000, 5_000, 82_000, 150_000, 1_000_000])
    func sizingLandsNearTheTarget(target: Int) throws {
        let configuration = SupplyChainConfiguration.configuration(approximateEvents: target, seed: 1)
        let summary = try SupplyChainGenerator(configuration).summary()
        let tolerance = max(Double(target) * 0.02, 20)
        #expect(abs(Double(summary.events - target)) <= tolerance, "\(summary.events) events for a target of \(target)")
    }

    @Test func largeTargetsKeepTheStandardHierarchy() {
        let configuration = SupplyChainConfiguration.configuration(approximateEvents: 1_000_000, seed: 1)
        #expect(configuration.packsPerCarton == 10)
        #expect(configuration.cartonsPerCase == 50)
        #expect(configuration.casesPerPallet == 40)
        #expect(configuration.manufacturer.code == "KZ")
        #expect(configuration.importer.code == "UA")
        #expect(configuration.transit?.code == "GE")
    }
}
