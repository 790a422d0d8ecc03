import Foundation
import Glibc

/// A small secret (a symmetric key) in a file of its own: created with mode 0600, fsynced
/// with its directory, and read only when group and others cannot read it.
public enum SecretFile {
    /// Creates `path` holding `bytes`; fails (`crypto.secret.create`) if it already exists.
    public static func create(_ path: String, _ bytes: [UInt8]) throws {
        try writeNewFile(path, bytes, mode: 0o600, code: "crypto.secret.create")
        try syncDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    /// The bytes of `path`; refuses a file that is not regular or that group or others may
    /// read (`crypto.key.permissions`).
    public static func read(_ path: String) throws -> [UInt8] {
        try readFile(path, privateKey: true)
    }

    /// Whether something exists at `path` (a file, or anything else in the way).
    public static func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    /// Renames `from` to `to` atomically, replacing nothing: fails (`crypto.secret.create`)
    /// if `to` exists. The directory is synced so the name survives a crash.
    public static func install(_ from: String, as to: String) throws {
        guard link(from, to) == 0 else {
            throw CryptoError(code: "crypto.secret.create", reason: "\(to): cannot install (\(String(cString: strerror(errno))))")
        }
        unlink(from)
        try syncDirectory(URL(fileURLWithPath: to).deletingLastPathComponent().path)
    }

    /// Removes `path` if it exists.
    public static func remove(_ path: String) {
        unlink(path)
    }
}
