// libFuzzer target for the EPCIS capture parser: JSON → EPCIS document → validation →
// CBV 2.0 pre-hash and hash ID. Built by Fuzz/run-epcis-fuzz.sh with the Model sources
// (and Crypto's SHA-256); see docs/fuzzing.md.
//
// Besides memory safety (ASan), every input checks:
// 1. the strict JSON parser either accepts or throws a located JSONError (never traps);
// 2. an accepted JSON value serialises and re-parses to the same value;
// 3. an accepted EPCIS document's events all have a well-formed hash ID, a pre-hash that
//    starts with their type, and raw bytes that re-parse as a JSON object;
// 4. parsing the same bytes twice gives the same hash IDs (determinism).

import Model

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var limits = JSONParser.Limits()
    limits.maxDepth = 32
    if let value = try? JSONParser.parse(bytes, limits: limits) {
        let again = try? JSONParser.parse(JSONWriter.serialize(value), limits: limits)
        precondition(again == value, "JSON round trip changed the value")
    }
    var epcisLimits = EPCISDocumentParser.limits
    epcisLimits.maxDepth = 32
    guard let document = try? EPCISDocumentParser.parse(bytes, name: "fuzz", limits: epcisLimits) else { return 0 }
    let prehashes = try? EPCISDocumentParser.prehashes(bytes, name: "fuzz", limits: epcisLimits)
    precondition(prehashes?.count == document.events.count, "no pre-hash for every event")
    for (event, prehash) in zip(document.events, prehashes ?? []) {
        precondition(event.hashID.hasPrefix("ni:///sha-256;") && event.hashID.hasSuffix("?ver=CBV2.0") && event.hashID.utf8.count == 89,
                     "malformed hash ID")
        precondition(prehash.hasPrefix("eventType=" + event.type.rawValue), "pre-hash does not start with the type")
        precondition(EventHash.hashID(prehash: prehash) == event.hashID, "the pre-hash does not hash to the ID")
        guard case .object? = try? JSONParser.parse(event.raw, limits: epcisLimits) else {
            preconditionFailure("raw event bytes do not re-parse as an object")
        }
    }
    let second = try? EPCISDocumentParser.parse(bytes, name: "fuzz", limits: epcisLimits)
    precondition(second?.events.map(\.hashID) == document.events.map(\.hashID), "hashing is not deterministic")
    return 0
}
