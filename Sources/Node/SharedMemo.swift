import Foundation
import Core
import Synchronization

/// A process-wide memo of one verified view per data directory — the agreements' statuses
/// (every signature checked against the root and CRL), the directory's verified entries —
/// shared by every service of this process working on that directory, so a request does
/// not re-verify what the previous one verified a moment ago.
///
/// A value is reused only while both hold:
/// - the store's **fingerprint** is unchanged (row counts or digests of what the view is
///   built from, and the trust files: any local or other-process write changes it, so a new
///   agreement, signature, termination, directory entry or CRL is seen at once);
/// - it is younger than `seconds` and not from the future of the `now` asked about (what
///   depends on time alone — validity windows, a CRL published since, certificate expiry —
///   is at most that stale).
///
/// The registry holds values only (never a store or a node), so a released node is freed.
final class SharedMemo<Value: Sendable>: Sendable {
    private struct Entry {
        let at: Date
        let fingerprint: [String]
        let value: Value
    }

    let seconds: TimeInterval
    /// Directories remembered at most; past that the memo starts over (tests open hundreds).
    let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(seconds: TimeInterval, capacity: Int = 64) {
        self.seconds = seconds
        self.capacity = capacity
    }

    /// The remembered value for `directory`, or `make()`'s, remembered.
    func value(for directory: String, fingerprint: [String], now: Date, make: () throws -> Value) throws -> Value {
        let key = URL(fileURLWithPath: directory).standardizedFileURL.path
        if let entry = entries.withLock({ $0[key] }), entry.fingerprint == fingerprint,
           now >= entry.at, now.timeIntervalSince(entry.at) < seconds {
            return entry.value
        }
        let value = try make()
        entries.withLock { entries in
            if entries.count >= capacity, entries[key] == nil { entries.removeAll() }
            entries[key] = Entry(at: now, fingerprint: fingerprint, value: value)
        }
        return value
    }
}

/// Part of a fingerprint: the identity of the trust files in `certificates` (root.pem,
/// crl.pem: device, inode, size, modification time), so a newly installed CRL or root
/// counts at once, as if nothing were remembered.
func trustFilesFingerprint(in certificates: String) -> [String] {
    ["root.pem", "crl.pem"].map { name in
        var info = stat()
        guard stat(certificates + "/" + name, &info) == 0 else { return "\(name):-" }
        return "\(name):\(info.st_dev):\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }
}
