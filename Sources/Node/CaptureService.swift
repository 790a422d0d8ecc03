import Foundation
import Crypto
import Model
import Store

/// The outcome of capturing one input document.
public struct DocumentCaptureOutcome: Sendable {
    public let source: String
    /// The store's result, or nil when the document was rejected.
    public let result: CaptureResult?
    /// Why the document was rejected (one line, naming the location), or nil.
    public let rejection: String?
    public let eventCount: Int
}

/// Capture: read → parse → validate → hash → store, one document per transaction.
public struct CaptureService: Sendable {
    public let node: OpenNode

    public init(node: OpenNode) {
        self.node = node
    }

    /// Reads a file, refusing anything larger than the configured limit before reading it.
    /// The bytes are read straight into the array the parser takes (through `Data` they were
    /// copied once more), and a file that grows past the limit while it is read is refused
    /// too.
    public func readDocument(atPath path: String) throws(NodeError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw NodeError(code: "capture.unreadable", reason: "\(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw NodeError(code: "capture.unreadable", reason: "\(path): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw NodeError(code: "capture.unreadable", reason: "\(path): not a regular file") }
        let limit = node.configuration.maxDocumentBytes
        func tooLarge(_ size: Int) -> NodeError {
            NodeError(code: "capture.too-large", reason: "\(path): \(formatBytes(size)) is larger than the \(formatBytes(limit)) limit for one document (maxDocumentBytes in node.json)")
        }
        guard Int(info.st_size) <= limit else { throw tooLarge(Int(info.st_size)) }
        // Read into uninitialised capacity (no zero-filling of memory the read overwrites):
        // the size fstat gave plus one byte, to see a file that grew since; a grown file is
        // read on in chunks, up to the limit.
        var failure: Int32 = 0
        func readChunk(_ capacity: Int) -> [UInt8] {
            [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
                initialized = 0
                while initialized < capacity {
                    let count = read(descriptor, buffer.baseAddress! + initialized, capacity - initialized)
                    if count < 0 && errno == EINTR { continue }
                    if count < 0 { failure = errno }
                    if count <= 0 { break }
                    initialized += count
                }
            }
        }
        var asked = Int(info.st_size) + 1
        var bytes = readChunk(asked)
        var filled = bytes.count == asked   // a full chunk: there may be more
        while failure == 0 && filled && bytes.count <= limit {
            asked = min(1 << 20, limit + 1 - bytes.count)
            let more = readChunk(asked)
            filled = more.count == asked
            bytes += more
        }
        guard failure == 0 else { throw NodeError(code: "capture.unreadable", reason: "\(path): read failed (\(String(cString: strerror(failure))))") }
        guard bytes.count <= limit else { throw tooLarge(bytes.count) }
        return bytes
    }

    /// Parses and stores one document; a rejected document stores nothing.
    public func capture(bytes: [UInt8], source: String, actor: String = "operator") -> DocumentCaptureOutcome {
        do {
            let (result, count) = try store(bytes: bytes, source: source, actor: actor)
            return DocumentCaptureOutcome(source: source, result: result, rejection: nil, eventCount: count)
        } catch {
            return DocumentCaptureOutcome(source: source, result: nil, rejection: error.reason, eventCount: 0)
        }
    }

    /// Parses and stores one document in one durable transaction, or throws without storing
    /// anything: `capture.too-large`, the parser's `epcis.*` codes (reason names the
    /// document, event and field), or `capture.store` when the store fails. The digest is
    /// worked out, and the first slices stored, while later slices are being validated.
    public func store(bytes: [UInt8], source: String, actor: String) throws(NodeError) -> (result: CaptureResult, eventCount: Int) {
        // The digest is worked out after `begin`, while the slices are validated on the other
        // cores (before it, it held up the validation), and for the audit of a refusal.
        var digest: String?
        do {
            let document = try begin(bytes: bytes, source: source)
            let documentDigest = SHA256.hexHash(bytes)
            digest = documentDigest
            return try store(document, digest: documentDigest, source: source, actor: actor)
        } catch {
            recordRejection(error, source: source, byteCount: bytes.count, digest: digest ?? SHA256.hexHash(bytes), actor: actor)
            throw error
        }
    }

    /// Audits a rejected document (DESIGN §11, §15: refused inputs are audited) in its own
    /// transaction: the source, the error code and where it points (event index, field), the
    /// size and SHA-256 of the bytes when they were read. Not the reason text, which may
    /// quote the document's values (audit records carry no event payloads). A failure to
    /// audit does not hide the rejection itself (the store may be what failed).
    func recordRejection(_ error: NodeError, source: String, byteCount: Int?, digest: String?, actor: String) {
        var detail = LocalAPI.location(of: error.reason, document: source)
        detail["source"] = .string(source)
        detail["code"] = .string(error.code)
        if let byteCount { detail["bytes"] = .number(String(byteCount)) }
        if let digest { detail["documentDigest"] = .string(digest) }
        _ = try? node.store.audit(actor: actor, action: "capture.rejected", detail: detail)
    }

    /// Checks the size, reads the JSON and the event list, and starts validating and
    /// hashing the events on every core (no store access, so it can run on another thread
    /// while the writer stores the previous document).
    public func begin(bytes: [UInt8], source: String) throws(NodeError) -> ValidatingDocument {
        guard bytes.count <= node.configuration.maxDocumentBytes else {
            throw NodeError(code: "capture.too-large", reason: "\(source): \(formatBytes(bytes.count)) is larger than the \(formatBytes(node.configuration.maxDocumentBytes)) limit")
        }
        do {
            return try EPCISDocumentParser.begin(bytes, name: source)
        } catch {
            throw NodeError(code: error.code, reason: error.reason)
        }
    }

    /// Stores a document as its slices are validated; `digest` is the SHA-256 (hex) of its
    /// exact input bytes, for the audit record (worked out before, so not on the writer's
    /// thread). A validation error keeps its `epcis.*` code; nothing of the document stays.
    func store(_ document: some EventSlices, digest: String, source: String, actor: String) throws(NodeError) -> (result: CaptureResult, eventCount: Int) {
        do {
            let result = try node.store.capture(document, origin: node.configuration.party, actor: actor, source: source,
                                                documentDigest: digest)
            return (result, document.eventCount)
        } catch let error as ModelError {
            throw NodeError(code: error.code, reason: error.reason)
        } catch {
            throw NodeError(code: "capture.store", reason: "\(source): not stored: \(error)")
        }
    }

    /// Captures files in order; each is its own transaction, and a rejected file does not
    /// stop the others. File *n + 1* is read and its JSON parsed on another thread while
    /// file *n* is stored (`CapturePipeline`), and each file's events are validated on every
    /// core while the writer stores the slices already done.
    public func capture(files: [String], actor: String = "operator") -> [DocumentCaptureOutcome] {
        var outcomes: [DocumentCaptureOutcome] = []
        outcomes.reserveCapacity(files.count)
        // Neither stage throws: each file's failure becomes its outcome.
        // A failure carries the size and digest of the bytes when they were read (for the audit).
        struct Failure: Error {
            let error: NodeError
            let byteCount: Int?
            let digest: String?
        }
        try? CapturePipeline.run(documents: files, parse: { _, path in
            Result { () throws(Failure) -> (String, Int, ValidatingDocument) in
                let bytes: [UInt8]
                do throws(NodeError) { bytes = try readDocument(atPath: path) } catch { throw Failure(error: error, byteCount: nil, digest: nil) }
                let digest = SHA256.hexHash(bytes)
                do throws(NodeError) {
                    return (digest, bytes.count, try begin(bytes: bytes, source: path))
                } catch {
                    throw Failure(error: error, byteCount: bytes.count, digest: digest)
                }
            }
        }, store: { _, prepared, path in
            do throws(Failure) {
                let (digest, byteCount, document) = try prepared.get()
                do throws(NodeError) {
                    let (result, count) = try store(document, digest: digest, source: path, actor: actor)
                    outcomes.append(DocumentCaptureOutcome(source: path, result: result, rejection: nil, eventCount: count))
                } catch {
                    throw Failure(error: error, byteCount: byteCount, digest: digest)
                }
            } catch {
                recordRejection(error.error, source: path, byteCount: error.byteCount, digest: error.digest, actor: actor)
                outcomes.append(DocumentCaptureOutcome(source: path, result: nil, rejection: error.error.reason, eventCount: 0))
            }
        })
        return outcomes
    }
}

/// "1.0 GiB", "256 MiB", "12 KiB", "900 bytes".
public func formatBytes(_ count: Int) -> String {
    let units = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
    for (size, name) in units where count >= size {
        let value = Double(count) / Double(size)
        return value == value.rounded() ? "\(Int(value)) \(name)" : String(format: "%.1f", value) + " " + name
    }
    return "\(count) bytes"
}
