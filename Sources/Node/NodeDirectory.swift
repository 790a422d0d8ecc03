import Foundation
import Crypto
import Model
import Store

/// A node's data directory: `node.json`, the SQLite store, and (later) certificates.
///
/// Layout (created by `fedtrace init`, mode 0700):
/// - `node.json`: the configuration
/// - `fedtrace.sqlite` (+ WAL files): the store
/// - `certs/`: the Party's certificate folder, when installed
public struct NodeDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public var configPath: String { path + "/node.json" }
    public var databasePath: String { path + "/fedtrace.sqlite" }
    public var certificatesPath: String { path + "/certs" }

    /// Creates a new node: the directory (which must be empty or absent), its configuration
    /// and store, and the first audit record. Refuses to touch an existing node.
    ///
    /// With `certificates`, the Party's certificate folder is validated first (it must
    /// belong to the Party named, chain to its root.pem — and to `federationRoot` when
    /// given — pass its CRL, and have keys that match and are 0600), then installed into
    /// `certs/`. Any failure leaves nothing behind.
    @discardableResult
    public static func initialize(at path: String, configuration: NodeConfiguration, certificates: String? = nil,
                                  federationRoot: String? = nil) throws -> OpenNode {
        var folder: PartyCertificateFolder?
        if let certificates {
            do {
                let root = try federationRoot.map { try Certificate(contentsOf: $0) }
                folder = try PartyCertificateFolder.load(from: certificates, expectedParty: configuration.party.urn, federationRoot: root)
            } catch let error as CryptoError {
                throw NodeError(code: "init.certificates", reason: error.reason)
            }
        }
        let manager = FileManager.default
        let existed = manager.fileExists(atPath: path)
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw NodeError(code: "init.exists", reason: "\(path) exists and is not a directory") }
            if manager.fileExists(atPath: path + "/node.json") {
                throw NodeError(code: "init.exists", reason: "\(path) already holds a node (node.json exists); refusing to overwrite it")
            }
            let contents = (try? manager.contentsOfDirectory(atPath: path)) ?? []
            guard contents.isEmpty else { throw NodeError(code: "init.exists", reason: "\(path) is not empty; choose a new or empty directory") }
        } else {
            do {
                try manager.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw NodeError(code: "init.directory", reason: "cannot create \(path): \(describe(error))")
            }
        }
        _ = chmod(path, 0o700)
        let directory = NodeDirectory(path: path)
        do {
            if let folder {
                do { try folder.install(into: directory.certificatesPath) } catch let error as CryptoError {
                    throw NodeError(code: "init.certificates", reason: error.reason)
                }
            }
            let store = try EventStore(path: directory.databasePath)
            var detail: JSONObject = ["party": .string(configuration.party.urn), "role": .string(configuration.role.rawValue)]
            if let folder {
                detail["certificates"] = .object([
                    "transport": .string(folder.transportCertificate.fingerprintSHA256),
                    "signing": .string(folder.signingCertificate.fingerprintSHA256),
                    "sealing": .string(folder.sealingCertificate.fingerprintSHA256),
                ])
            }
            try store.setSettings(["party": configuration.party.urn, "role": configuration.role.rawValue], actor: "operator", action: "init", detail: detail)
            // node.json last: its presence marks a complete node.
            try writeAtomically(configuration.json, to: directory.configPath, mode: 0o600)
            return OpenNode(directory: directory, configuration: configuration, store: store)
        } catch {
            // Nothing half-made stays: remove what this call created.
            if existed {
                for entry in (try? manager.contentsOfDirectory(atPath: path)) ?? [] { try? manager.removeItem(atPath: path + "/" + entry) }
            } else {
                try? manager.removeItem(atPath: path)
            }
            throw error
        }
    }

    /// Opens an existing node.
    public func open() throws -> OpenNode {
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw NodeError(code: "node.missing", reason: "\(path) is not a node data directory (no node.json); run 'fedtrace init' first")
        }
        guard let bytes = FileManager.default.contents(atPath: configPath) else {
            throw NodeError(code: "node.unreadable", reason: "cannot read \(configPath)")
        }
        let configuration = try NodeConfiguration(json: Array(bytes), file: configPath)
        // Only 'init' makes a store: a missing one is not quietly made afresh (with a new audit key).
        guard FileManager.default.fileExists(atPath: databasePath) else {
            throw NodeError(code: "node.store-missing", reason: "\(databasePath) is missing: restore the node's store from its backup (see docs/operations.md)")
        }
        let store = try EventStore(path: databasePath)
        guard let recorded = try store.setting("party") else {
            throw NodeError(code: "node.mismatch", reason: "\(databasePath) does not say which Party it belongs to: it is not this node's store")
        }
        guard recorded == configuration.party.urn else {
            throw NodeError(code: "node.mismatch", reason: "\(configPath) names \(configuration.party.urn) but the store belongs to \(recorded)")
        }
        return OpenNode(directory: self, configuration: configuration, store: store)
    }
}

/// An opened node: configuration plus store.
public struct OpenNode: Sendable {
    public let directory: NodeDirectory
    public let configuration: NodeConfiguration
    public let store: EventStore
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, then renames it into place.
public func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
    let temporary = path + ".tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { throw NodeError(code: "io.write", reason: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written < 0 {
            if errno == EINTR { continue }
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temporary)
            throw NodeError(code: "io.write", reason: "cannot write \(temporary): \(reason)")
        }
        offset += written
    }
    let synced = fsync(fd) == 0
    close(fd)
    guard synced, rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw NodeError(code: "io.write", reason: "cannot write \(path): \(reason)")
    }
}

func describe(_ error: any Error) -> String {
    if let e = error as? CocoaError, let underlying = e.userInfo[NSUnderlyingErrorKey] as? NSError {
        return String(cString: strerror(Int32(underlying.code)))
    }
    return "\(error)"
}
