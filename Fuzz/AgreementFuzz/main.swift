// libFuzzer target for the sharing-agreement parser, JCS canonicalisation and lint.
// Built by Fuzz/run-agreement-fuzz.sh; see docs/fuzzing.md.
//
// Besides memory safety (ASan), every input checks:
// 1. parsing and lint never trap (lint reports problems, parse throws PolicyError);
// 2. an accepted agreement's canonical bytes are themselves canonical: parsing them and
//    canonicalising again gives the same bytes, and the hash is their SHA-256;
// 3. JCS of any accepted JSON value is idempotent (canonicalising the canonical form is
//    a fixed point).

import Model
import Policy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = Lint.check(bytes)
    var limits = JSONParser.Limits()
    limits.maxDepth = 32
    if let value = try? JSONParser.parse(bytes, limits: limits), let canonical = try? JCS.canonicalize(value) {
        let again = try? JCS.canonicalize(try JSONParser.parse(canonical))
        precondition(again == canonical, "JCS is not a fixed point")
    }
    guard let agreement = try? Agreement.parse(bytes) else { return 0 }
    let reparsed = try? JCS.canonicalize(try JSONParser.parse(agreement.canonicalBytes))
    precondition(reparsed == agreement.canonicalBytes, "canonical bytes are not canonical")
    precondition(agreement.hash.utf8.count == 64, "agreement hash is not SHA-256 hex")
    return 0
}
