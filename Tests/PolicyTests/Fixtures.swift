import Model
@testable import Policy

/// Documents shared by the policy tests: the bilateral KZ–UA agreement of docs/agreements.md
/// (without comments) and EPCIS events shaped like docs/tobacco-extension.md.
enum Fixtures {
    static let kz = try! PartyID(country: "KZ")
    static let ua = try! PartyID(country: "UA")
    static let by = try! PartyID(country: "BY")
    static let hub = try! PartyID(hub: "gsp")

    static let bilateral = #"""
    {
      "id": "kz-ua-2026",
      "version": 1,
      "supersedes": null,
      "profile": "fctc-tt-1",
      "parties": [
        {"party": "urn:fctc:party:KZ", "competentAuthority": "State Revenue Committee, Ministry of Finance"},
        {"party": "urn:fctc:party:UA", "competentAuthority": "State Customs Service of Ukraine"}
      ],
      "validity": {"notBefore": "2026-01-01T00:00:00Z", "notAfter": "2027-12-31T23:59:59Z"},
      "purposes": ["illicit-trade-detection", "investigation"],
      "legalBasis": "WHO FCTC Protocol to Eliminate Illicit Trade in Tobacco Products, Art. 8 and 21",
      "flows": [
        {
          "id": "kz-to-ua-shipments",
          "from": ["urn:fctc:party:KZ"],
          "to": ["urn:fctc:party:UA"],
          "action": "replicate",
          "rowFilter": {
            "eventTypes": ["ObjectEvent"],
            "bizSteps": ["commissioning", "shipping"],
            "productCategories": ["cigarettes"],
            "destinationCountry": "recipient",
            "eventTimeFrom": "2026-01-01T00:00:00Z"
          },
          "fields": ["a", "f", "g", "h", "j"],
          "duties": {"retentionDays": 365, "receipts": true}
        },
        {
          "id": "ua-answers-kz",
          "from": ["urn:fctc:party:UA"],
          "to": ["urn:fctc:party:KZ"],
          "action": "answerEnquiry",
          "rowFilter": {},
          "fields": ["a", "b", "e", "f", "g", "h", "i", "j"],
          "duties": {"retentionDays": 730, "receipts": true}
        },
        {
          "id": "kz-answers-ua",
          "from": ["urn:fctc:party:KZ"],
          "to": ["urn:fctc:party:UA"],
          "action": "answerEnquiry",
          "rowFilter": {},
          "fields": ["a", "b", "e", "f", "g", "h", "i", "j"],
          "duties": {"retentionDays": 730, "receipts": true}
        }
      ],
      "onwardTransfer": {"allowed": false},
      "relay": {"viaHub": "urn:fctc:hub:gsp"},
      "enquiry": {"mode": "autoUpTo", "maxUIMs": 100, "answerWithinHours": 72},
      "termination": {"noticeDays": 90, "receivedData": "retain-until-retention"},
      "signatures": []
    }
    """#

    static func agreement(_ text: String = bilateral) throws -> Agreement {
        try Agreement.parse(Array(text.utf8))
    }

    /// The bilateral agreement with one edit applied to its parsed document.
    static func edited(_ edit: (inout JSONObject) -> Void) throws -> [UInt8] {
        guard case .object(var root) = try JSONParser.parse(Array(bilateral.utf8)) else { fatalError() }
        edit(&root)
        return JSONWriter.serialize(.object(root))
    }

    static let commissioning = #"""
    {
      "type": "ObjectEvent",
      "eventTime": "2026-03-03T01:00:01.614Z",
      "eventTimeZoneOffset": "+05:00",
      "recordTime": "2026-03-03T01:05:00.000Z",
      "epcList": ["https://id.gs1.org/01/04870001000011/21/P7K2M9Q4X1"],
      "action": "ADD",
      "bizStep": "commissioning",
      "disposition": "active",
      "readPoint": {"id": "https://id.gs1.org/414/4870001000104"},
      "bizLocation": {"id": "https://id.gs1.org/414/4870001000005"},
      "ilmd": {
        "tt:manufactureCountry": "KZ",
        "tt:facilityID": "KZ-F0001",
        "tt:machineID": "KZ-F0001-M01",
        "tt:productionShift": "1",
        "tt:productionTime": "2026-03-03T06:00:01.614+05:00",
        "tt:intendedMarket": "UA",
        "tt:productDescription": "Filter cigarettes, 20 sticks",
        "tt:productCategory": "cigarettes",
        "tt:brand": "Steppe Gold"
      }
    }
    """#

    static let shipping = #"""
    {
      "type": "ObjectEvent",
      "eventTime": "2026-03-10T04:00:00.000Z",
      "eventTimeZoneOffset": "+05:00",
      "epcList": ["https://id.gs1.org/00/048700019000000014"],
      "action": "OBSERVE",
      "bizStep": "shipping",
      "disposition": "in_transit",
      "readPoint": {"id": "https://id.gs1.org/414/4870001000203"},
      "sourceList": [{"type": "owning_party", "source": "https://id.gs1.org/417/4870001000005"}],
      "destinationList": [{"type": "owning_party", "destination": "https://id.gs1.org/417/4820001000007"}],
      "tt:productCategory": "cigarettes",
      "tt:intendedRoute": ["KZ", "RU", "UA"],
      "tt:pointOfDeparture": "https://id.gs1.org/414/4870001000203",
      "tt:destinationCountry": "UA",
      "tt:consignee": {"tt:name": "Kyiv Tobacco Import LLC", "tt:identifier": "https://id.gs1.org/417/4820001000007", "tt:country": "UA", "tt:note": "internal"},
      "tt:transport": {"tt:mode": "road", "tt:vehicle": "KZ 123 ABC 02"},
      "example:internalBatch": "B-77"
    }
    """#

    static let transaction = #"""
    {
      "type": "TransactionEvent",
      "eventTime": "2026-03-10T04:00:00.000Z",
      "eventTimeZoneOffset": "+05:00",
      "epcList": ["https://id.gs1.org/00/048700019000000014"],
      "action": "ADD",
      "bizStep": "accepting",
      "bizTransactionList": [{"type": "inv", "bizTransaction": "urn:epcglobal:cbv:bt:4870001000005:INV-1-1"}],
      "tt:firstCustomer": {"tt:name": "Kyiv Tobacco Import LLC", "tt:identifier": "https://id.gs1.org/417/4820001000007", "tt:country": "UA"}
    }
    """#

    /// One event parsed by Model's EPCIS parser, as the capture path does.
    static func event(_ text: String) throws -> EPCISEvent {
        let document = #"{"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld", {"tt": "https://ns.fedtrace.org/tobacco/1/", "example": "https://example.org/"}], "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-10T05:00:00Z", "epcisBody": {"eventList": ["# + text + "]}}"
        return try EPCISDocumentParser.parse(Array(document.utf8), name: "fixture").events[0]
    }

    static func time(_ text: String) -> Timestamp { Timestamp.parse(text)! }
}
