// libFuzzer target for the Crypto module's DER/PEM/CMS entry points.
// Built by Fuzz/run-crypto-fuzz.sh together with Sources/Crypto/*.swift (one module), so
// the types are used directly. The PKI comes from FEDTRACE_FUZZ_PKI, made at run time by
// the script with Certs/ — no key is committed.
import Foundation

/// The fixed material every input is checked against.
struct FuzzFixture: Sendable {
    let trust: TrustStore
    let sealingCertificate: Certificate
    let sealingKey: PrivateKey

    static let shared: FuzzFixture = {
        guard let directory = ProcessInfo.processInfo.environment["FEDTRACE_FUZZ_PKI"] else {
            fatalError("set FEDTRACE_FUZZ_PKI to a folder made by Certs/issue-party.sh (run Fuzz/run-crypto-fuzz.sh)")
        }
        do {
            return FuzzFixture(trust: try TrustStore(rootFile: directory + "/root.pem", crlFile: directory + "/crl.pem"),
                               sealingCertificate: try Certificate(contentsOf: directory + "/sealing.pem"),
                               sealingKey: try PrivateKey(contentsOf: directory + "/sealing.key"))
        } catch {
            fatalError("cannot load the fuzz PKI: \(error)")
        }
    }()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    // The first byte picks the entry point, so each run does one parse (and at most one
    // public-key operation): the rest of the input is what that entry point sees.
    let selector = data[0] % 5
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let fixture = FuzzFixture.shared
    // Every entry point must either succeed or throw a CryptoError; a crash or ASan report is a bug.
    switch selector {
    case 0:
        if let certificate = try? Certificate(bytes: bytes) {
            _ = certificate.partyURN
            _ = certificate.notAfter
            _ = certificate.derBytes
            _ = certificate.purposeProblem(for: .sealing)
            _ = try? fixture.trust.verify(certificate, purpose: .signing)
        }
    case 1:
        if let crl = try? CRL(bytes: bytes) {
            _ = crl.revokedSerialNumbers
            _ = crl.isSigned(by: fixture.trust.roots[0])
        }
    case 2:
        _ = try? CMSInspector.inspect(bytes, knownCertificates: [fixture.sealingCertificate])
    case 3:
        _ = try? CMS.verify(bytes, trust: fixture.trust)
        _ = try? CMS.verify(bytes, detachedContent: Array("fedtrace fuzz seed".utf8), trust: fixture.trust)
    default:
        _ = try? CMS.open(bytes, certificate: fixture.sealingCertificate, key: fixture.sealingKey)
    }
    return 0
}
