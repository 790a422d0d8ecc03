import Foundation
import Crypto

// `fedtrace bench crypto` (DESIGN §14): CMS sign+seal and open+verify of 1 KiB and 1 MiB,
// each next to what `openssl speed` says the same primitives allow, measured in the same run.
//
// Composite baselines (operations per second), from `openssl speed -elapsed -mr`:
//   sign+seal(N)   = 1 / (1/ecdsaSign + 1/ecdh + N/aesGCM(N) + N/sha256(N))
//   open+verify(N) = 1 / (1/ecdh + N/aesGCM(N) + 2/ecdsaVerify + N/sha256(N))
// sign+seal: digest the content, one ECDSA P-256 signature, one ECDH for the single
// recipient's key agreement, AES-256-GCM over the signed content. open+verify: one ECDH,
// AES-256-GCM, the digest, and two ECDSA verifications (the signature and the signer's
// certificate under the root). Ephemeral key generation, the KDF, key wrap, ASN.1 and
// CMS overhead count against the node, so the baseline is a ceiling; the target is
// "within 2x of openssl speed", i.e. ratio >= 0.5.

/// Runs the crypto scenario: each measurement lasts about `seconds` (openssl speed takes whole seconds).
public func runCryptoBenchmark(seconds: Double) throws -> [BenchmarkResult] {
    let pki = try BenchPKI()
    defer { pki.remove() }
    let trust = try TrustStore(roots: [pki.root])

    let speedSeconds = max(1, Int(seconds.rounded(.up)))
    let ecdsa = try opensslSpeed(["ecdsap256"], seconds: speedSeconds)
    let ecdh = try opensslSpeed(["ecdhp256"], seconds: speedSeconds)
    guard let ecdsaLine = ecdsa.first(where: { $0.hasPrefix("+F4:") })?.split(separator: ":"), ecdsaLine.count >= 5,
          let signRate = Double(ecdsaLine[3]), let verifyRate = Double(ecdsaLine[4]),
          let ecdhLine = ecdh.first(where: { $0.hasPrefix("+F5:") })?.split(separator: ":"), ecdhLine.count >= 4,
          let ecdhRate = Double(ecdhLine[3]) else {
        throw CryptoError(code: "bench.openssl-speed", reason: "cannot read `openssl speed -mr` output for ecdsap256/ecdhp256")
    }

    var results: [BenchmarkResult] = []
    for (label, size) in [("1KiB", 1024), ("1MiB", 1 << 20)] {
        let aesRate = try bytesPerSecond(["-evp", "aes-256-gcm", "-bytes", "\(size)"], seconds: speedSeconds)
        let shaRate = try bytesPerSecond(["-evp", "sha256", "-bytes", "\(size)"], seconds: speedSeconds)
        let bytes = Double(size)
        let sealBaseline = 1 / (1 / signRate + 1 / ecdhRate + bytes / aesRate + bytes / shaRate)
        let openBaseline = 1 / (1 / ecdhRate + bytes / aesRate + 2 / verifyRate + bytes / shaRate)

        let payload = try SecureRandom.bytes(size)
        var sealed: [UInt8] = []
        let sealRate = try measure(seconds: seconds) {
            sealed = try CMS.signAndSeal(payload, signer: pki.signing, key: pki.signingKey, to: [pki.sealing])
        }
        let openRate = try measure(seconds: seconds) {
            let verified = try CMS.openAndVerify(sealed, certificate: pki.sealing, key: pki.sealingKey, trust: trust)
            guard verified.content.count == size else {
                throw CryptoError(code: "bench.mismatch", reason: "opened \(verified.content.count) bytes, sealed \(size)")
            }
        }
        let target = "within 2x of openssl speed (ratio >= 0.5)"
        results.append(BenchmarkResult(scenario: "crypto.sign-seal.\(label)", figure: sealRate, unit: "ops/s", baseline: sealBaseline,
                                       baselineName: "openssl speed ecdsap256 sign + ecdhp256 + aes-256-gcm + sha256", target: target,
                                       meetsTarget: sealRate / sealBaseline >= 0.5))
        results.append(BenchmarkResult(scenario: "crypto.open-verify.\(label)", figure: openRate, unit: "ops/s", baseline: openBaseline,
                                       baselineName: "openssl speed ecdhp256 + aes-256-gcm + 2x ecdsap256 verify + sha256", target: target,
                                       meetsTarget: openRate / openBaseline >= 0.5))
    }
    return results
}

/// Operations per second of `body`, repeated for about `seconds` (at least 3 runs, after one warm-up).
private func measure(seconds: Double, _ body: () throws -> Void) throws -> Double {
    try body()
    let start = DispatchTime.now().uptimeNanoseconds
    var count = 0
    var elapsed = 0.0
    repeat {
        try body()
        count += 1
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    } while elapsed < seconds || count < 3
    return Double(count) / elapsed
}

/// `openssl speed -elapsed -mr ...`: the machine-readable lines (`+F...`).
private func opensslSpeed(_ arguments: [String], seconds: Int) throws -> [String] {
    let output = try runOpenSSL(["speed", "-seconds", "\(seconds)", "-elapsed", "-mr"] + arguments)
    return output.split(separator: "\n").map(String.init).filter { $0.hasPrefix("+") }
}

/// The bytes/s figure of an `openssl speed -evp ALG -bytes N` run (`+F:index:name:rate`).
private func bytesPerSecond(_ arguments: [String], seconds: Int) throws -> Double {
    let lines = try opensslSpeed(arguments, seconds: seconds)
    guard let line = lines.first(where: { $0.hasPrefix("+F:") }), let rate = line.split(separator: ":").last.flatMap({ Double($0) }), rate > 0 else {
        throw CryptoError(code: "bench.openssl-speed", reason: "cannot read `openssl speed \(arguments.joined(separator: " "))` output")
    }
    return rate
}

@discardableResult
func runOpenSSL(_ arguments: [String], in directory: String? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl"] + arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch {
        throw CryptoError(code: "bench.openssl", reason: "cannot run openssl: \(error)")
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CryptoError(code: "bench.openssl", reason: "openssl \(arguments.prefix(3).joined(separator: " ")) exited with \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}

/// A throw-away root, one signing and one sealing certificate, made with the openssl
/// command line in a private temp directory (the Certs/ scripts may not be installed
/// where `fedtrace` runs). Same extensions as Certs/make-root.sh writes.
private struct BenchPKI {
    let directory: String
    let root: Certificate
    let signing: Certificate
    let signingKey: PrivateKey
    let sealing: Certificate
    let sealingKey: PrivateKey

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/fedtrace-bench-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CryptoError(code: "bench.tempdir", reason: "mkdtemp failed") }
        let directory = String(cString: made)
        self.directory = directory
        let extensions = """
        [signing]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature, nonRepudiation
        extendedKeyUsage = emailProtection
        subjectAltName = URI:urn:fctc:party:KZ
        [sealing]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, keyAgreement
        extendedKeyUsage = emailProtection
        subjectAltName = URI:urn:fctc:party:RU
        """
        try Data(extensions.utf8).write(to: URL(fileURLWithPath: directory + "/ext.cnf"))
        func key(_ name: String) throws {
            try runOpenSSL(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "\(name).key"], in: directory)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: "\(directory)/\(name).key")
        }
        try key("root")
        try runOpenSSL(["req", "-x509", "-new", "-key", "root.key", "-subj", "/O=FedTrace bench/CN=bench root", "-days", "2",
                        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                        "-out", "root.pem"], in: directory)
        for (serial, name) in [(2, "signing"), (3, "sealing")] {
            try key(name)
            try runOpenSSL(["req", "-new", "-key", "\(name).key", "-subj", "/O=FedTrace bench/CN=\(name)", "-out", "\(name).csr"], in: directory)
            try runOpenSSL(["x509", "-req", "-in", "\(name).csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "\(serial)",
                            "-days", "1", "-extfile", "ext.cnf", "-extensions", name, "-out", "\(name).pem"], in: directory)
        }
        root = try Certificate(contentsOf: directory + "/root.pem")
        signing = try Certificate(contentsOf: directory + "/signing.pem")
        signingKey = try PrivateKey(contentsOf: directory + "/signing.key")
        sealing = try Certificate(contentsOf: directory + "/sealing.pem")
        sealingKey = try PrivateKey(contentsOf: directory + "/sealing.key")
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
