import Foundation
import Crypto
import Model
import Net

/// A throw-away root and leaf certificates made with the openssl command line in a private
/// directory, for the benchmarks and the demo (the Certs/ scripts may not be installed where
/// `fedtrace` runs). Each leaf is issued from the root with its own extension section.
public struct BenchPKI: Sendable {
    public let directory: String

    /// The leaves of a Party's (or the hub's) certificate folder, with the extensions
    /// Certs/make-root.sh gives transport, signing and sealing certificates.
    public static func folderLeaves(_ party: PartyID) -> [(name: String, extensions: String)] {
        let common = "basicConstraints = critical, CA:FALSE\nsubjectAltName = URI:\(party.urn)\n"
        return [("\(party.code)-transport", common + "keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth, clientAuth"),
                ("\(party.code)-signing", common + "keyUsage = critical, digitalSignature, nonRepudiation\nextendedKeyUsage = emailProtection"),
                ("\(party.code)-sealing", common + "keyUsage = critical, keyAgreement\nextendedKeyUsage = emailProtection")]
    }

    /// Writes `party`'s certificate folder (root.pem and the three pairs, keys 0600) at `path`;
    /// the PKI must have been made with `folderLeaves(party)`.
    public func installFolder(_ party: PartyID, at path: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try manager.copyItem(atPath: self.path("root.pem"), toPath: path + "/root.pem")
        for use in ["transport", "signing", "sealing"] {
            try manager.copyItem(atPath: self.path("\(party.code)-\(use).pem"), toPath: path + "/\(use).pem")
            try manager.copyItem(atPath: self.path("\(party.code)-\(use).key"), toPath: path + "/\(use).key")
            try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path + "/\(use).key")
        }
    }

    /// Makes the root and one certificate per entry of `leaves` (file name → openssl
    /// extension lines) in a fresh private directory under the system temp directory.
    public init(leaves: [(name: String, extensions: String)]) throws {
        var template = Array((NSTemporaryDirectory() + "/fedtrace-bench-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CryptoError(code: "bench.tempdir", reason: "mkdtemp failed") }
        directory = String(cString: made)
        let configuration = leaves.map { "[\($0.name)]\n\($0.extensions)" }.joined(separator: "\n")
        try Data(configuration.utf8).write(to: URL(fileURLWithPath: directory + "/ext.cnf"))
        try key("root")
        try runOpenSSL(["req", "-x509", "-new", "-key", "root.key", "-subj", "/O=FedTrace bench/CN=bench root", "-days", "2",
                        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                        "-out", "root.pem"], in: directory)
        for (serial, leaf) in leaves.enumerated() {
            try key(leaf.name)
            try runOpenSSL(["req", "-new", "-key", "\(leaf.name).key", "-subj", "/O=FedTrace bench/CN=\(leaf.name)", "-out", "\(leaf.name).csr"], in: directory)
            try runOpenSSL(["x509", "-req", "-in", "\(leaf.name).csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "\(serial + 2)",
                            "-days", "1", "-extfile", "ext.cnf", "-extensions", leaf.name, "-out", "\(leaf.name).pem"], in: directory)
        }
    }

    private func key(_ name: String) throws {
        try runOpenSSL(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "\(name).key"], in: directory)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: "\(directory)/\(name).key")
    }

    public func path(_ name: String) -> String { directory + "/" + name }

    func certificate(_ name: String) throws -> Certificate { try Certificate(contentsOf: path("\(name).pem")) }

    func privateKey(_ name: String) throws -> PrivateKey { try PrivateKey(contentsOf: path("\(name).key")) }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// A loopback port free right now (bound by a throw-away server and released), for nodes
/// whose port must be known before they start (the demo, `bench catchup`).
public func freeLoopbackPort() throws -> Int {
    let server = try HTTPServer.start(configuration: .init(host: "127.0.0.1", port: 0), handler: { _, _ in HTTPResponse(status: 200) })
    defer { server.shutdown(timeout: .seconds(1)) }
    return server.port
}
