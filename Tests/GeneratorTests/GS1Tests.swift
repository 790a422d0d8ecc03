import Testing
@testable import Generator

@Suite struct GS1Tests {
    /// Keys from GS1's own documentation and the EPCIS examples.
    @Test(arguments: ["0614141007349", "106141412345678908", "70614141123451", "4012345000016", "04870001000011", "14870001000018"])
    func knownKeysHaveValidCheckDigits(key: String) {
        #expect(GS1.hasValidCheckDigit(key))
    }

    @Test func wrongCheckDigitsAreRejected() {
        #expect(!GS1.hasValidCheckDigit("0614141007348"))
        #expect(!GS1.hasValidCheckDigit("106141412345678907"))
        #expect(!GS1.hasValidCheckDigit("12A4"))
        #expect(!GS1.hasValidCheckDigit("1"))
        #expect(GS1.checkDigit(for: "061414100734") == 9)
        #expect(GS1.checkDigit(for: "10614141234567890") == 8)
    }

    @Test func buildersProduceKeysOfTheRightLengthAndCheckDigit() {
        let gtin = GS1.gtin14(indicator: 1, companyPrefix: "4870001", itemReference: 1)
        #expect(gtin == "14870001000018")
        let sscc = GS1.sscc18(extensionDigit: 1, companyPrefix: "0614141", serialReference: 234_567_890)
        #expect(sscc == "106141412345678908")
        let gln = GS1.gln13(companyPrefix: "4012345", locationReference: 1)
        #expect(gln == "4012345000016")
        #expect(GS1.sgtinURI(gtin: gtin, serial: "AB12") == "https://id.gs1.org/01/14870001000018/21/AB12")
        #expect(GS1.ssccURI(sscc) == "https://id.gs1.org/00/106141412345678908")
        #expect(GS1.locationURI(gln: gln) == "https://id.gs1.org/414/4012345000016")
    }
}
