import Foundation
import Glibc

/// A small secret (a symmetric key) in a file of its own: created with mode 0600, fsynced
/// with its directory, and read only when it is a regular file of this process's user that
/// group and others cannot read (so nobody else can have planted or swapped it).
public enum SecretFile {
    /// Creates `path` holding `bytes`: `crypto.secret.exists` if something is already there,
    /// `crypto.secret.create` for any other failure (after which no file is left behind).
    public static func create(_ path: String, _ bytes: [UInt8]) throws {
        do {
            try writeNewFile(path, bytes, mode: 0o600, code: "crypto.secret.create")
        } catch let error as CryptoError {
            if error.code == "crypto.file.exists" {
                throw CryptoError(code: "crypto.secret.exists", reason: "\(path) already exists")
            }
            unlink(path)
            throw error
        }
        try syncDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    /// The bytes of `path` (at most 4 KiB): `crypto.secret.unreadable` if it cannot be read
    /// or is not a regular file, `crypto.key.permissions` if group or others may read it or
    /// another user owns it.
    public static func read(_ path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else {
            throw CryptoError(code: "crypto.secret.unreadable", reason: "\(path): cannot read (\(String(cString: strerror(errno))))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw CryptoError(code: "crypto.secret.unreadable", reason: "\(path): not a regular file")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw CryptoError(code: "crypto.key.permissions",
                              reason: "\(path): secret is readable by group or others (mode \(String(status.st_mode & 0o777, radix: 8))); run chmod 0600 \(path)")
        }
        guard status.st_uid == geteuid() else {
            throw CryptoError(code: "crypto.key.permissions", reason: "\(path): secret belongs to user \(status.st_uid), not to this process's user \(geteuid())")
        }
        guard status.st_size <= 4096 else {
            throw CryptoError(code: "crypto.secret.unreadable", reason: "\(path): \(status.st_size) bytes is too large for a secret")
        }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + done, $0.count - done) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw CryptoError(code: "crypto.secret.unreadable", reason: "\(path): read failed after \(done) bytes") }
            done += count
        }
        return bytes
    }

    /// Whether something exists at `path` (a file, or anything else in the way).
    public static func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    /// Puts `from` in place as `to`, replacing nothing (`crypto.secret.exists` if `to`
    /// exists), and syncs the directory so the name survives a crash. A hard link, then the
    /// old name removed; where the file system has no hard links, a rename after checking
    /// that `to` is free.
    public static func install(_ from: String, as to: String) throws {
        if link(from, to) != 0 {
            let error = errno
            guard error == EPERM || error == ENOTSUP || error == EOPNOTSUPP || error == EXDEV else {
                if error == EEXIST { throw CryptoError(code: "crypto.secret.exists", reason: "\(to) already exists") }
                throw CryptoError(code: "crypto.secret.create", reason: "\(to): cannot install (\(String(cString: strerror(error))))")
            }
            guard !exists(to) else { throw CryptoError(code: "crypto.secret.exists", reason: "\(to) already exists") }
            guard rename(from, to) == 0 else {
                throw CryptoError(code: "crypto.secret.create", reason: "\(to): cannot install (\(String(cString: strerror(errno))))")
            }
        } else {
            unlink(from)
        }
        try syncDirectory(URL(fileURLWithPath: to).deletingLastPathComponent().path)
    }

    /// Replaces `path` (or creates it) with `bytes` atomically: a new file of its own (mode
    /// 0600, fsynced) renamed over it, so a reader sees the old bytes or the new, never a
    /// mix.
    public static func replace(_ path: String, _ bytes: [UInt8]) throws {
        let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        try create(temporary, bytes)
        guard rename(temporary, path) == 0 else {
            let error = errno
            unlink(temporary)
            throw CryptoError(code: "crypto.secret.create", reason: "\(path): cannot replace (\(String(cString: strerror(error))))")
        }
    }

    /// Removes `path` if it exists.
    public static func remove(_ path: String) {
        unlink(path)
    }
}
