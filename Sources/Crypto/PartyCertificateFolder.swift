internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A Party's (or the hub's) certificate folder as `Certs/` issues it (DESIGN §4):
/// `root.pem`, optional `crl.pem`, and `transport`, `signing`, `sealing` each as `.pem` + `.key`.
/// Loading checks everything; errors name the file and what is wrong.
public struct PartyCertificateFolder: Sendable {
    /// The files of the layout, in the order they are checked.
    public static let fileNames = ["root.pem", "crl.pem", "transport.pem", "transport.key",
                                   "signing.pem", "signing.key", "sealing.pem", "sealing.key"]

    /// Where the folder was loaded from.
    public let directory: String
    /// The identity every certificate carries, e.g. `urn:fctc:party:KZ`.
    public let partyURN: String
    /// root.pem with crl.pem (when present).
    public let trust: TrustStore
    public let transportCertificate: Certificate
    public let transportKey: PrivateKey
    public let signingCertificate: Certificate
    public let signingKey: PrivateKey
    public let sealingCertificate: Certificate
    public let sealingKey: PrivateKey

    /// Loads and validates the folder for `expectedParty` at `time`: every file readable,
    /// keys 0600 (or stricter), each certificate's SAN is the Party, chains to root.pem,
    /// passes crl.pem, fits its purpose, and its key matches it. With `federationRoot` (the
    /// root the operator obtained out of band), root.pem must be that certificate.
    public static func load(from directory: String, expectedParty: String, password: String? = nil,
                            federationRoot: Certificate? = nil, at time: Date = Date()) throws -> PartyCertificateFolder {
        let crlPath = directory + "/crl.pem"
        let hasCRL = FileManager.default.fileExists(atPath: crlPath)
        let trust = try TrustStore(rootFile: directory + "/root.pem", crlFile: hasCRL ? crlPath : nil)
        if let federationRoot, !trust.roots.allSatisfy({ $0 == federationRoot }) {
            throw CryptoError(code: "crypto.cert.foreign-ca",
                              reason: "\(directory)/root.pem: is \(trust.roots[0].subject) (SHA-256 \(trust.roots[0].fingerprintSHA256)), not the federation root (SHA-256 \(federationRoot.fingerprintSHA256))")
        }
        func pair(_ purpose: CertificatePurpose) throws -> (Certificate, PrivateKey) {
            let certificatePath = "\(directory)/\(purpose).pem", keyPath = "\(directory)/\(purpose).key"
            let certificate = try Certificate(contentsOf: certificatePath)
            try naming(certificatePath) {
                guard certificate.partyURN == expectedParty else {
                    throw CryptoError(code: "crypto.folder.party",
                                      reason: "certificate is for \(certificate.partyURN ?? "no urn:fctc: identity"), expected \(expectedParty)")
                }
                try trust.verify(certificate, purpose: purpose, at: time)
            }
            let key = try PrivateKey(contentsOf: keyPath, password: password)
            guard key.matches(certificate) else {
                throw CryptoError(code: "crypto.key.mismatch", reason: "\(keyPath): key does not belong to \(certificatePath)")
            }
            return (certificate, key)
        }
        let transport = try pair(.transport), signing = try pair(.signing), sealing = try pair(.sealing)
        return PartyCertificateFolder(directory: directory, partyURN: expectedParty, trust: trust,
                                      transportCertificate: transport.0, transportKey: transport.1,
                                      signingCertificate: signing.0, signingKey: signing.1,
                                      sealingCertificate: sealing.0, sealingKey: sealing.1)
    }

    /// Copies the folder's files into `destination` atomically: they are written (keys 0600,
    /// certificates 0644) to a fresh 0700 directory beside it, re-validated there, then
    /// renamed into place. `destination` must not exist or be empty. On any failure nothing
    /// is left behind. `password` is only needed if the keys are encrypted (they are copied as they are).
    public func install(into destination: String, password: String? = nil, at time: Date = Date()) throws {
        let target = URL(fileURLWithPath: destination).standardizedFileURL
        let parent = target.deletingLastPathComponent().path
        var template = Array("\(parent)/.\(target.lastPathComponent).install-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw CryptoError(code: "crypto.folder.install", reason: "\(parent): cannot create a temporary directory (\(String(cString: strerror(errno))))")
        }
        let staging = String(cString: made)
        var installed = false
        defer { if !installed { try? FileManager.default.removeItem(atPath: staging) } }

        for name in Self.fileNames {
            let source = "\(directory)/\(name)"
            if name == "crl.pem" && !FileManager.default.fileExists(atPath: source) { continue }
            let isKey = name.hasSuffix(".key")
            var bytes = try readFile(source, privateKey: isKey)
            defer { if isKey { cleanse(&bytes) } }
            try writeNewFile("\(staging)/\(name)", bytes, mode: isKey ? 0o600 : 0o644)
        }
        _ = try Self.load(from: staging, expectedParty: partyURN, password: password, at: time)
        try syncDirectory(staging)
        if rename(staging, target.path) != 0 {
            let reason = errno == ENOTEMPTY || errno == EEXIST ? "already exists and is not empty; nothing was installed"
                                                               : "cannot install (\(String(cString: strerror(errno))))"
            throw CryptoError(code: "crypto.folder.install", reason: "\(target.path): \(reason)")
        }
        installed = true
        try syncDirectory(parent)
    }
}

/// fsyncs a directory so a rename into it survives a crash.
func syncDirectory(_ path: String) throws {
    let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    defer { close(descriptor) }
    _ = fsync(descriptor)
}
