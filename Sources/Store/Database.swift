import Core
import Foundation
internal import CSQLite

/// A failure reported by SQLite or by the store's own checks.
///
/// `code` is stable (`store.sqlite.<result code>` or a store-specific code); `reason` is
/// SQLite's message. Bound arguments are never included: they may hold event data.
public struct StoreError: CodedError, Sendable, Equatable {
    public let code: String
    public let reason: String
    /// SQLite's primary result code, when SQLite was the source.
    public let resultCode: Int32?

    public init(code: String, reason: String, resultCode: Int32? = nil) {
        self.code = code
        self.reason = reason
        self.resultCode = resultCode
    }


    /// An SQLite failure: `context` (if any) and SQLite's message (`message`, else the
    /// connection's). SQLITE_FULL names the database file and says in plain words that
    /// there is no space left for it, where the operator has to act (SQLite's own text is
    /// "database or disk is full"; it also comes from a size limit or a full temp device).
    static func sqlite(_ result: Int32, _ handle: OpaquePointer?, _ context: String?, message: String? = nil) -> StoreError {
        let text = message ?? handle.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(result))
        var reason = context.map { "\($0): \(text)" } ?? text
        if result & 0xff == SQLITE_FULL {
            let file = handle.flatMap { sqlite3_db_filename($0, "main") }.map { String(cString: $0) } ?? ""
            reason = (file.isEmpty ? "" : "\(file): ") + "no space left for the database: its disk (or temporary space) is full or it reached its size limit (\(reason))"
        }
        return StoreError(code: "store.sqlite.\(result & 0xff)", reason: reason, resultCode: result & 0xff)
    }
}

/// One SQLite connection. Not thread-safe by itself: `SerialDatabase` confines it to a queue.
public final class Database {
    let handle: OpaquePointer
    private var statementCache: [String: Statement] = [:]
    /// The key that seals the audit log on this connection (`AuditLog`), set by the store
    /// that opened it; nil when the store has none (the log cannot be appended to then).
    var auditKey: AuditKey?
    /// Where the audit key is (or should be), for messages.
    var auditKeyPath: String?
    /// Where the audit anchor is kept (`AuditLog`), nil where none is (a backup copy).
    var auditAnchorPath: String?
    /// The newest record this transaction appended, for the anchor once it commits.
    var pendingAnchor: (seq: Int64, hash: String)?
    /// Why the last anchor write failed, until one succeeds (appends refuse meanwhile).
    var anchorFailure: String?
    /// Set while `reanchor` appends the record that replaces the anchor.
    var skipAnchorCheck = false

    /// Page cache per connection, KiB (64 MiB).
    static let cacheKiB = 65_536
    /// Page size of a database this connection creates (an existing file keeps its own).
    /// An event row (raw JSON of ~1 KB plus its indexed fields, ~1.45 KB for generated
    /// events) fits twice in a 4 KiB page, which wastes a third of every page; at 16 KiB
    /// eleven rows share a page and each page carries more per write. Measured at 200k
    /// events (docs/performance.md): capture 1.4 times as fast, 16% smaller file, half the
    /// kernel write time.
    static let pageBytes = 16_384
    /// Memory-mapped I/O window (1 GiB of address space, not resident memory).
    static let mmapBytes = 1 << 30

    /// Opens (creating if needed) the database at `path` in WAL mode with foreign keys on
    /// and `synchronous=FULL`, so a commit is on disk before it returns.
    public init(path: String, readOnly: Bool = false) throws(StoreError) {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_NOMUTEX
        let result = sqlite3_open_v2(path, &db, flags, nil)
        guard result == SQLITE_OK, let db else {
            let error = StoreError.sqlite(result, db, "cannot open database \(path)")
            sqlite3_close_v2(db)
            throw error
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 10_000)
        if !readOnly {
            // Must precede the first write (switching to WAL writes the header); a no-op
            // on a database that already has pages.
            try execute("PRAGMA page_size=\(Self.pageBytes)")
            try execute("PRAGMA journal_mode=WAL")
        }
        try execute("PRAGMA synchronous=FULL")
        try execute("PRAGMA foreign_keys=ON")
        // Index pages of a growing store do not fit SQLite's 2 MiB default cache; without a
        // larger cache every UIM index insert re-reads pages through pread (measured: most
        // of capture time). Memory-mapped reads avoid the copies for the rest.
        try execute("PRAGMA cache_size=-\(Self.cacheKiB)")
        try execute("PRAGMA mmap_size=\(Self.mmapBytes)")
        try execute("PRAGMA temp_store=MEMORY")
        try registerSchemaFunctions()
    }

    /// SQL functions the schema's views and migrations use, registered on every connection
    /// of the store: `fedtrace_postings(block)`, the postings of a UIM index block as JSON
    /// text (`PostingIndex.json(ofBlock:)`; a block that does not read is an SQL error), and
    /// `fedtrace_hash_key(hash_id)`, an event's index key (`EventHashKey`; text only).
    private func registerSchemaFunctions() throws(StoreError) {
        let hashKey: @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<OpaquePointer?>?) -> Void = { context, count, values in
            guard let context else { return }
            guard count == 1, let value = values?[0], sqlite3_value_type(value) == SQLITE_TEXT, let text = sqlite3_value_text(value) else {
                sqlite3_result_error(context, "fedtrace_hash_key takes one hash ID (TEXT)", -1)
                return
            }
            let size = Int(sqlite3_value_bytes(value))
            sqlite3_result_int64(context, EventHashKey.of(utf8: UnsafeBufferPointer(start: text, count: size)))
        }
        let keyResult = sqlite3_create_function_v2(handle, "fedtrace_hash_key", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                                   nil, hashKey, nil, nil, nil)
        guard keyResult == SQLITE_OK else { throw StoreError.sqlite(keyResult, handle, "cannot register fedtrace_hash_key") }
        let postings: @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<OpaquePointer?>?) -> Void = { context, count, values in
            guard let context else { return }
            guard count == 1, let value = values?[0], sqlite3_value_type(value) == SQLITE_BLOB else {
                sqlite3_result_error(context, "fedtrace_postings takes one UIM index block (a BLOB)", -1)
                return
            }
            let size = Int(sqlite3_value_bytes(value))
            let bytes = size == 0 ? [] : Array(UnsafeRawBufferPointer(start: sqlite3_value_blob(value), count: size))
            do {
                let json = try PostingIndex.json(ofBlock: bytes)
                json.withUnsafeBytes { buffer in
                    sqlite3_result_text(context, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(buffer.count), fedtrace_sqlite_transient())
                }
            } catch {
                sqlite3_result_error(context, (error as? StoreError)?.reason ?? "fedtrace_postings failed", -1)
            }
        }
        let result = sqlite3_create_function_v2(handle, "fedtrace_postings", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                                nil, postings, nil, nil, nil)
        guard result == SQLITE_OK else { throw StoreError.sqlite(result, handle, "cannot register fedtrace_postings") }
    }

    deinit {
        statementCache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more SQL statements that take no arguments and return no rows.
    public func execute(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(handle, sql, nil, nil, &message)
        if result != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(result))
            sqlite3_free(message)
            throw StoreError.sqlite(result, handle, nil, message: text)
        }
    }

    /// A prepared statement for `sql`, reused across calls (reset and cleared of bindings).
    public func cached(_ sql: String) throws(StoreError) -> Statement {
        if let statement = statementCache[sql] {
            statement.reset()
            return statement
        }
        let statement = try Statement(database: self, sql: sql, cached: true)
        statementCache[sql] = statement
        return statement
    }

    /// A new prepared statement for `sql`, not cached.
    public func prepare(_ sql: String) throws(StoreError) -> Statement {
        try Statement(database: self, sql: sql)
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`; rolls back if it throws.
    public func transaction<T>(_ body: (Database) throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        pendingAnchor = nil
        do {
            let value = try body(self)
            try execute("COMMIT")
            // Only what is committed goes into the audit anchor (it never runs ahead of the log).
            if let anchor = pendingAnchor {
                pendingAnchor = nil
                AuditLog.writeAnchor(self, seq: anchor.seq, hash: anchor.hash)
            }
            return value
        } catch {
            pendingAnchor = nil
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Copies the whole database into a new file at `path` with SQLite's online backup
    /// API, in steps, so a consistent snapshot is taken while the connection stays usable.
    public func backup(to path: String) throws(StoreError) {
        var target: OpaquePointer?
        let opened = sqlite3_open_v2(path, &target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        defer { sqlite3_close_v2(target) }
        guard opened == SQLITE_OK, let target else { throw StoreError.sqlite(opened, target, "cannot create backup \(path)") }
        guard let backup = sqlite3_backup_init(target, "main", handle, "main") else {
            throw StoreError.sqlite(sqlite3_errcode(target), target, "cannot start backup to \(path)")
        }
        var result: Int32
        repeat {
            result = sqlite3_backup_step(backup, 1024)
        } while result == SQLITE_OK || result == SQLITE_BUSY || result == SQLITE_LOCKED
        let finished = sqlite3_backup_finish(backup)
        guard result == SQLITE_DONE, finished == SQLITE_OK else {
            throw StoreError.sqlite(result == SQLITE_DONE ? finished : result, target, "backup to \(path) failed")
        }
    }

    /// The row ID of the last successful INSERT on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// The number of rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }
}

/// A SQLite value for binding or reading.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// A prepared statement.
///
/// An uncached statement (`Database.prepare`) keeps its connection alive as long as it
/// lives. A cached one (`Database.cached`) is owned by the connection's cache and must not
/// own the connection in turn: that cycle kept every connection open for the life of the
/// process (found by a test of the demo: a stopped node's files stayed open).
public final class Statement {
    let handle: OpaquePointer
    /// The connection's handle, for error messages.
    private let connection: OpaquePointer
    /// The connection, for an uncached statement only.
    private let owner: Database?

    init(database: Database, sql: String, cached: Bool = false) throws(StoreError) {
        var statement: OpaquePointer?
        let result = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard result == SQLITE_OK, let statement else {
            throw StoreError.sqlite(result, database.handle, "cannot prepare statement")
        }
        self.handle = statement
        self.connection = database.handle
        self.owner = cached ? nil : database
    }

    deinit { sqlite3_finalize(handle) }

    /// Resets the statement and clears its bindings so it can run again.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds values to parameters 1…n.
    @discardableResult
    public func bind(_ values: [SQLValue]) throws(StoreError) -> Statement {
        for (offset, value) in values.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
        return self
    }

    /// Binds one value to the 1-based parameter `index`.
    public func bind(_ value: SQLValue, at index: Int32) throws(StoreError) {
        let result: Int32
        switch value {
        case .null: result = sqlite3_bind_null(handle, index)
        case .integer(let v): result = sqlite3_bind_int64(handle, index, v)
        case .real(let v): result = sqlite3_bind_double(handle, index, v)
        case .text(var v):
            // The string's own UTF-8 with its length: passing the String made a C copy (an
            // allocation per bind), and a length of -1 would cut the text at a NUL.
            result = v.withUTF8 { bytes in
                guard let length = Int32(exactly: bytes.count) else { return SQLITE_TOOBIG }
                return sqlite3_bind_text(handle, index, UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self),
                                         length, fedtrace_sqlite_transient())
            }
        case .blob(let v):
            result = v.withUnsafeBytes { buffer in
                sqlite3_bind_blob(handle, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(buffer.count), fedtrace_sqlite_transient())
            }
        }
        guard result == SQLITE_OK else { throw StoreError.sqlite(result, connection, "cannot bind parameter \(index)") }
    }

    /// Binds text, or NULL when `value` is nil.
    public func bind(_ value: String?, at index: Int32) throws(StoreError) {
        try bind(value.map(SQLValue.text) ?? .null, at: index)
    }

    /// Binds UTF-8 bytes as text from a buffer (no `String` made first).
    public func bindText(_ buffer: UnsafeRawBufferPointer, at index: Int32) throws(StoreError) {
        let pointer = (buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
        let result = sqlite3_bind_text(handle, index, pointer, Int32(buffer.count), fedtrace_sqlite_transient())
        guard result == SQLITE_OK else { throw StoreError.sqlite(result, connection, "cannot bind parameter \(index)") }
    }

    /// Binds text and blob parameters that SQLite reads in place instead of copying
    /// (SQLITE_STATIC: no allocation and copy per value), runs `body` (which steps the
    /// statement and reads what it needs of the result), then resets the statement and
    /// unbinds every parameter: neither a binding nor a result row (which may point into a
    /// bound buffer) outlives the buffers. `values[i]` is parameter `i + 1`: `.text`/`.blob`
    /// bytes from the buffers given, anything else bound as `bind(_:at:)` does. The buffers
    /// must not change during `body`.
    public func withBorrowedParameters<R>(_ values: [BorrowedValue], _ body: () throws -> R) throws -> R {
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let result: Int32
            switch value {
            case .text(let buffer):
                guard let length = Int32(exactly: buffer.count) else { throw StoreError.sqlite(SQLITE_TOOBIG, connection, "cannot bind parameter \(index)") }
                let pointer = (buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
                result = sqlite3_bind_text(handle, index, pointer, length, fedtrace_sqlite_static())
            case .blob(let buffer):
                guard let length = Int32(exactly: buffer.count) else { throw StoreError.sqlite(SQLITE_TOOBIG, connection, "cannot bind parameter \(index)") }
                result = sqlite3_bind_blob(handle, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), length, fedtrace_sqlite_static())
            case .value(let value):
                try bind(value, at: index)
                continue
            }
            guard result == SQLITE_OK else { throw StoreError.sqlite(result, connection, "cannot bind parameter \(index)") }
        }
        return try body()
    }

    /// A parameter for `withBorrowedParameters`.
    public enum BorrowedValue {
        case text(UnsafeRawBufferPointer)
        case blob(UnsafeRawBufferPointer)
        case value(SQLValue)
    }

    /// Advances to the next row; false when the statement is done.
    public func step() throws(StoreError) -> Bool {
        let result = sqlite3_step(handle)
        switch result {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw StoreError.sqlite(result, connection, "statement failed")
        }
    }

    /// Runs a statement that returns no rows.
    public func run() throws(StoreError) {
        while try step() {}
    }

    /// The number of columns in a result row.
    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    public func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    public func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Reads all rows with `read`, then resets the statement.
    public func rows<T>(_ read: (Statement) throws -> T) throws -> [T] {
        defer { reset() }
        var out: [T] = []
        while try step() { out.append(try read(self)) }
        return out
    }
}

/// A database connection confined to one serial dispatch queue: the store's single writer.
///
/// `@unchecked Sendable` is safe because the connection is only ever touched from `queue`
/// (every access goes through `read`/`write`, which run synchronously on it).
public final class SerialDatabase: @unchecked Sendable {
    private let database: Database
    private let queue: DispatchQueue
    /// The file path of the database.
    public let path: String

    public init(path: String) throws(StoreError) {
        self.path = path
        self.database = try Database(path: path)
        self.queue = DispatchQueue(label: "fedtrace.store.writer")
    }

    /// Runs `body` on the writer queue inside one transaction, committed durably before returning.
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try queue.sync { try database.transaction(body) }
    }

    /// Runs `body` on the writer queue without opening a transaction (reads, pragmas).
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try queue.sync { try body(database) }
    }
}
