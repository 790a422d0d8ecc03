import Testing
@testable import Model

@Suite struct CBVVocabularyTests {
    @Test func expandsBareWords() {
        #expect(CBVVocabulary.expand("shipping", for: .bizStep) == "https://ref.gs1.org/cbv/BizStep-shipping")
        #expect(CBVVocabulary.expand("in_transit", for: .disposition) == "https://ref.gs1.org/cbv/Disp-in_transit")
        #expect(CBVVocabulary.expand("po", for: .bizTransactionType) == "https://ref.gs1.org/cbv/BTT-po")
        #expect(CBVVocabulary.expand("possessing_party", for: .sourceDestinationType) == "https://ref.gs1.org/cbv/SDT-possessing_party")
        #expect(CBVVocabulary.expand("AbsoluteHumidity", for: .measurementType) == "https://gs1.org/voc/AbsoluteHumidity")
        #expect(CBVVocabulary.expand("ALARM_CONDITION", for: .sensorException) == "https://gs1.org/voc/ALARM_CONDITION")
        #expect(CBVVocabulary.expand("x", for: .sensorComponent) == "https://ref.gs1.org/cbv/Comp-x")
        #expect(CBVVocabulary.expand("incorrect_data", for: .errorReason) == "https://ref.gs1.org/cbv/ER-incorrect_data")
    }

    @Test func rejectsUnknownWords() {
        #expect(CBVVocabulary.expand("teleporting", for: .bizStep) == nil)
        #expect(CBVVocabulary.expand("shipping", for: .disposition) == nil)  // a bizStep word, not a disposition
        #expect(CBVVocabulary.expand("Shipping", for: .bizStep) == nil)
        #expect(CBVVocabulary.expand("", for: .errorReason) == nil)
        #expect(CBVVocabulary.expand("https://ref.gs1.org/cbv/BizStep-shipping", for: .bizStep) == nil)
    }

    @Test func tableSizes() {
        #expect(CBVVocabulary.table(for: .sourceDestinationType).count == 3)
        #expect(CBVVocabulary.table(for: .errorReason).count == 2)
        #expect(CBVVocabulary.table(for: .measurementType).count == 72)
        #expect(CBVVocabulary.allURIs.contains("https://ref.gs1.org/cbv/Disp-recalled"))
        #expect(CBVVocabulary.allURIs.count == Set(CBVVocabulary.Field.allCases.flatMap { CBVVocabulary.table(for: $0).values }).count)
    }

    /// Expected values from the reference `_try_format_web_vocabulary`.
    @Test(arguments: [
        ("urn:epcglobal:cbv:bizstep:shipping", "https://ref.gs1.org/cbv/BizStep-shipping"),
        ("urn:epcglobal:cbv:disp:in_transit", "https://ref.gs1.org/cbv/Disp-in_transit"),
        ("urn:epcglobal:cbv:btt:po", "https://ref.gs1.org/cbv/BTT-po"),
        ("urn:epcglobal:cbv:sdt:owning_party", "https://ref.gs1.org/cbv/SDT-owning_party"),
        ("urn:epcglobal:cbv:er:did_not_occur", "https://ref.gs1.org/cbv/ER-did_not_occur"),
        ("x urn:epcglobal:cbv:bizstep:a urn:epcglobal:cbv:disp:b urn:epcglobal:cbv:bizstep:",
         "x https://ref.gs1.org/cbv/BizStep-a https://ref.gs1.org/cbv/Disp-b https://ref.gs1.org/cbv/BizStep-"),
        ("urn:epcglobal:cbv:urn:epcglobal:cbv:er:x", "urn:epcglobal:cbv:https://ref.gs1.org/cbv/ER-x"),
        ("urn:epcglobal:cbv:bizstepx:y", "urn:epcglobal:cbv:bizstepx:y"),
        ("urn:epcglobal:cbv:BIZSTEP:shipping", "urn:epcglobal:cbv:BIZSTEP:shipping"),
        ("urn:epcglobal:cbv:disp", "urn:epcglobal:cbv:disp"),
        ("é urn:epcglobal:cbv:sdt:ü", "é https://ref.gs1.org/cbv/SDT-ü"),
        ("urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.2017"),
        ("", ""),
    ])
    func webVocabularyFromURN(input: String, expected: String) {
        #expect(CBVVocabulary.webVocabularyFromURN(input) == expected)
    }
}
