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
public func runCryptoBenchmark(seconds: Double, progress: (String) -> Void = { _ in }) throws -> [BenchmarkResult] {
    // Same extensions as Certs/issue-party.sh writes for signing and sealing certificates.
    let pki = try BenchPKI(leaves: [
        ("signing", "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, nonRepudiation\nextendedKeyUsage = emailProtection\nsubjectAltName = URI:urn:fctc:party:KZ"),
        ("sealing", "basicConstraints = critical, CA:FALSE\nkeyUsage = critical, keyAgreement\nextendedKeyUsage = emailProtection\nsubjectAltName = URI:urn:fctc:party:RU"),
    ])
    defer { pki.remove() }
    let trust = try TrustStore(roots: [try pki.certificate("root")])
    let signing = try pki.certificate("signing"), signingKey = try pki.privateKey("signing")
    let sealing = try pki.certificate("sealing"), sealingKey = try pki.privateKey("sealing")

    let speedSeconds = max(1, Int(seconds.rounded(.up)))
    progress("openssl speed baselines (\(speedSeconds) s each) and CMS of 1 KiB and 1 MiB")
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
            sealed = try CMS.signAndSeal(payload, signer: signing, key: signingKey, to: [sealing])
        }
        let openRate = try measure(seconds: seconds) {
            let verified = try CMS.openAndVerify(sealed, certificate: sealing, key: sealingKey, trust: trust)
            guard verified.content.count == size else {
                throw CryptoError(code: "bench.mismatch", reason: "opened \(verified.content.count) bytes, sealed \(size)")
            }
        }
        progress("\(label): sign+seal \(Int(sealRate)) ops/s (openssl \(Int(sealBaseline))), open+verify \(Int(openRate)) ops/s (openssl \(Int(openBaseline)))")
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
    // Two measurements at most (ecdsa: sign and verify), each `seconds`; generous slack for a loaded machine.
    let output = try runOpenSSL(["speed", "-seconds", "\(seconds)", "-elapsed", "-mr"] + arguments, timeout: Double(4 * seconds + 60))
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

/// Runs the openssl command line and returns its standard output. A run that takes longer
/// than `timeout` seconds is killed and reported, so a stuck child never hangs `bench`.
@discardableResult
func runOpenSSL(_ arguments: [String], in directory: String? = nil, timeout: Double = 300) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl"] + arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    // The child inherits this thread's signal mask. Dispatch and test-runner worker threads
    // block most signals, and `openssl speed` ends each measurement on SIGALRM: blocked, it
    // never ends (seen: `bench` from a test spun for minutes). SIGALRM is unblocked for the
    // spawn only; nothing sends it to this process.
    var alarm = sigset_t(), previous = sigset_t()
    sigemptyset(&alarm)
    sigaddset(&alarm, SIGALRM)
    pthread_sigmask(SIG_UNBLOCK, &alarm, &previous)
    do {
        try process.run()
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    } catch {
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        throw CryptoError(code: "bench.openssl", reason: "cannot run openssl: \(error)")
    }
    let watchdog = DispatchWorkItem { [process] in if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    watchdog.cancel()
    let command = "openssl \(arguments.prefix(3).joined(separator: " "))"
    guard process.terminationReason == .exit else {
        throw CryptoError(code: "bench.openssl", reason: "\(command) was killed (signal \(process.terminationStatus)) after at most \(Int(timeout)) s")
    }
    guard process.terminationStatus == 0 else {
        throw CryptoError(code: "bench.openssl", reason: "\(command) exited with \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}
