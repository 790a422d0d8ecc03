internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif
import Foundation

// The thin unsafe layer under the public types: memory BIOs, times, names and files.
// Nothing here is public; C types stay inside the module.

/// Runs `body` with a read-only memory BIO over `bytes`; the BIO does not outlive the call.
func withMemoryBIO<R>(_ bytes: [UInt8], _ body: (OpaquePointer) throws -> R) throws -> R {
    guard bytes.count <= Int(Int32.max) else {
        throw CryptoError(code: "crypto.input.too-large", reason: "input of \(bytes.count) bytes is larger than OpenSSL accepts")
    }
    let storage = bytes.isEmpty ? [0] : bytes   // BIO_new_mem_buf refuses a NULL buffer, even empty
    return try storage.withUnsafeBytes { raw in
        guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(bytes.count)) else {
            throw CryptoError.openSSL("crypto.memory", "BIO_new_mem_buf failed")
        }
        defer { BIO_free(bio) }
        return try body(bio)
    }
}

/// Runs `body` with a fresh writable memory BIO and returns what it wrote.
/// With `secret`, the BIO's buffers are cleansed when freed or grown (BIO_s_secmem), for plaintext.
func collectingMemoryBIO(secret: Bool = false, _ body: (OpaquePointer) throws -> Void) throws -> [UInt8] {
    guard let bio = BIO_new(secret ? BIO_s_secmem() : BIO_s_mem()) else { throw CryptoError.openSSL("crypto.memory", "BIO_new failed") }
    defer { BIO_free(bio) }
    try body(bio)
    return memoryBIOContents(bio)
}

/// A writable memory BIO with `capacity` bytes reserved up front. OpenSSL grows memory BIOs
/// with a clear_realloc (allocate, copy, cleanse) per step, which dominated 1 MiB operations;
/// reserving the expected size avoids every step. The caller frees the BIO.
func makeMemoryBIO(reserving capacity: Int, secret: Bool) throws -> OpaquePointer {
    guard let bio = BIO_new(secret ? BIO_s_secmem() : BIO_s_mem()) else { throw CryptoError.openSSL("crypto.memory", "BIO_new failed") }
    guard capacity > 0 else { return bio }
    guard let buffer = BUF_MEM_new_ex(secret ? UInt(BUF_MEM_FLAG_SECURE) : 0) else {
        BIO_free(bio)
        throw CryptoError.openSSL("crypto.memory", "BUF_MEM_new_ex failed")
    }
    guard BUF_MEM_grow_clean(buffer, capacity) == capacity else {
        BUF_MEM_free(buffer)
        BIO_free(bio)
        throw CryptoError.openSSL("crypto.memory", "cannot reserve \(capacity) bytes")
    }
    buffer.pointee.length = 0
    // BIO_set_mem_buf is a macro over BIO_ctrl; BIO_CLOSE hands the buffer to the BIO.
    guard BIO_ctrl(bio, BIO_C_SET_BUF_MEM, Int(BIO_CLOSE), buffer) == 1 else {
        BUF_MEM_free(buffer)
        BIO_free(bio)
        throw CryptoError.openSSL("crypto.memory", "BIO_set_mem_buf failed")
    }
    return bio
}

/// Like `collectingMemoryBIO`, with `capacity` bytes reserved (see `makeMemoryBIO`).
func collectingMemoryBIO(reserving capacity: Int, secret: Bool, _ body: (OpaquePointer) throws -> Void) throws -> [UInt8] {
    let bio = try makeMemoryBIO(reserving: capacity, secret: secret)
    defer { BIO_free(bio) }
    try body(bio)
    return memoryBIOContents(bio)
}

/// The bytes written so far to a memory BIO.
func memoryBIOContents(_ bio: OpaquePointer) -> [UInt8] {
    var pointer: UnsafeMutablePointer<CChar>? = nil
    let length = fedtrace_BIO_get_mem_data(bio, &pointer)
    guard length > 0, let pointer else { return [] }
    return pointer.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
}

/// Whether `bytes` look like PEM text (optional leading whitespace, then `-----BEGIN`).
func looksLikePEM(_ bytes: [UInt8]) -> Bool {
    let marker = Array("-----BEGIN".utf8)
    guard let start = bytes.firstIndex(where: { ![0x20, 0x09, 0x0a, 0x0d].contains($0) }) else { return false }
    return bytes.count - start >= marker.count && Array(bytes[start..<start + marker.count]) == marker
}

/// An ASN.1 time as a Date, or nil when OpenSSL cannot read it.
func date(fromASN1Time time: UnsafePointer<ASN1_TIME>?) -> Date? {
    guard let time else { return nil }
    var parts = tm()
    guard ASN1_TIME_to_tm(time, &parts) == 1 else {
        _ = drainOpenSSLErrors()
        return nil
    }
    return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
}

/// A Date as seconds since the epoch for OpenSSL's verification time.
func timeT(_ date: Date) -> time_t {
    time_t(date.timeIntervalSince1970.rounded(.down))
}

/// RFC 3339 text of a date in UTC, for reasons people read.
func utcText(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: date)
}

/// An X509_NAME in OpenSSL's one-line form, e.g. `/O=FCTC Protocol federation/CN=...`.
func oneLine(_ name: OpaquePointer?) -> String {
    guard let name, let text = X509_NAME_oneline(name, nil, 0) else { return "" }
    defer { fedtrace_OPENSSL_free(text) }
    return String(cString: text)
}

/// An ASN.1 INTEGER (a serial number) as uppercase hex, the form `openssl x509 -serial` prints.
func serialHex(_ serial: UnsafePointer<ASN1_INTEGER>?) -> String {
    guard let serial, let bignum = ASN1_INTEGER_to_BN(serial, nil) else { return "" }
    defer { BN_free(bignum) }
    guard let text = BN_bn2hex(bignum) else { return "" }
    defer { fedtrace_OPENSSL_free(text) }
    return String(cString: text)
}

/// The bytes of an ASN.1 string (octet string, IA5String...).
func bytes(ofASN1String string: UnsafePointer<ASN1_STRING>?) -> [UInt8] {
    guard let string, let data = ASN1_STRING_get0_data(string) else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(string))))
}

/// Overwrites `bytes` with zeros in a way the optimiser keeps (OPENSSL_cleanse).
func cleanse(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { raw in
        if let base = raw.baseAddress { OPENSSL_cleanse(base, raw.count) }
    }
}

/// Reads a whole file. With `privateKey`, refuses a file whose mode lets group or others
/// read it, checked on the open descriptor so the file cannot be swapped in between.
func readFile(_ path: String, privateKey: Bool = false) throws -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
        throw CryptoError(code: "crypto.file.unreadable", reason: "\(path): cannot read (\(String(cString: strerror(errno))))")
    }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else {
        throw CryptoError(code: "crypto.file.unreadable", reason: "\(path): cannot stat (\(String(cString: strerror(errno))))")
    }
    guard (status.st_mode & S_IFMT) == S_IFREG else {
        throw CryptoError(code: "crypto.file.unreadable", reason: "\(path): not a regular file")
    }
    if privateKey && status.st_mode & 0o077 != 0 {
        throw CryptoError(code: "crypto.key.permissions",
                          reason: "\(path): private key is readable by group or others (mode \(String(status.st_mode & 0o777, radix: 8))); run chmod 0600 \(path)")
    }
    let size = Int(status.st_size)
    guard size <= 64 << 20 else {
        throw CryptoError(code: "crypto.file.too-large", reason: "\(path): \(size) bytes is too large for a certificate, key or CRL")
    }
    var bytes = [UInt8](repeating: 0, count: size)
    var done = 0
    while done < size {
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + done, size - done) }
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else {
            if privateKey { cleanse(&bytes) }
            throw CryptoError(code: "crypto.file.unreadable", reason: "\(path): read failed after \(done) bytes")
        }
        done += count
    }
    return bytes
}

/// Rethrows a CryptoError with `path: ` in front of its reason, so errors name the file.
func naming<R>(_ path: String, _ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let error as CryptoError where !error.reason.hasPrefix(path) {
        throw CryptoError(code: error.code, reason: "\(path): \(error.reason)")
    }
}

/// Creates `path` (which must not exist) with `mode`, writes `bytes` and fsyncs it; errors
/// carry `code`.
func writeNewFile(_ path: String, _ bytes: [UInt8], mode: mode_t, code: String = "crypto.folder.install") throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard descriptor >= 0 else {
        let error = errno
        throw CryptoError(code: error == EEXIST ? "crypto.file.exists" : code, reason: "\(path): cannot create (\(String(cString: strerror(error))))")
    }
    defer { close(descriptor) }
    guard fchmod(descriptor, mode) == 0 else {   // the umask may have narrowed it; keys must be exactly 0600
        throw CryptoError(code: code, reason: "\(path): cannot set mode (\(String(cString: strerror(errno))))")
    }
    var done = 0
    while done < bytes.count {
        let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + done, bytes.count - done) }
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else {
            throw CryptoError(code: code, reason: "\(path): write failed (\(String(cString: strerror(errno))))")
        }
        done += count
    }
    guard fsync(descriptor) == 0 else {
        throw CryptoError(code: code, reason: "\(path): fsync failed (\(String(cString: strerror(errno))))")
    }
}
