import Foundation
import Model

/// The UIM index as sorted runs of packed blocks (migrations 0008, 0009 and 0010): a
/// log-structured merge of postings.
///
/// ## Why
/// The index held one row per (UIM, event, role) in a single B-tree keyed by the UIM text.
/// UIMs are random serial numbers, so a document of 10,000 events (110,000 postings) made
/// 110,000 random inserts and its durable commit wrote nearly every leaf page of the index
/// again: the cost of a capture grew with the size of the store, and on a national store
/// far larger than the page cache each insert would also be a random read. Sorted runs
/// (0008) made those inserts appends; still one B-tree row per posting, 11 per generated
/// event, which was two thirds of the store's time per event (measured: 20k events/s with
/// a row per posting, 36–41k with packed blocks, 48–54k with no index at all). So a run's
/// postings are packed into blocks (0009), about 25 to a row.
///
/// ## Contract
/// - **Postings.** A posting is (uim, event_id, role): `uim` the canonical UIM
///   (`UIMReference.canonical`), `event_id` the event's row ID, `role` a `UIMRole` raw value.
///   Postings are ordered by (uim, event_id, role), text in SQLite's BINARY order (UTF-8
///   bytes). A posting is in exactly one live run.
/// - **Blocks.** `posting_blocks(id, run, first_uim, postings, data)`: `data` is a BLOB
///   (migration 0010; 0009 wrote JSON text) holding postings in key order: the byte
///   `formatByte` (1), then per posting `shared` (varint: how many leading bytes its UIM
///   shares with the UIM of the posting before, 0 for the first; always the whole common
///   prefix), `suffix length` (varint), the suffix bytes, `event_id` (varint of the 64-bit
///   pattern) and the role (one byte, `roles`: codes in the roles' text order). Varints are
///   unsigned LEB128. Postings strictly increase in (uim, event_id, role); a reader refuses
///   anything else as a corrupt index. `first_uim` is the UIM of its first posting;
///   `postings` how many it holds. A block closes once it reaches `blockBytes`, at the
///   next change of UIM, so **all the postings of one UIM in one run are in one
///   block** (the unique index on (run, first_uim) holds because of it), and the block
///   holding UIM `u` in run `r` is the last block of `r` whose `first_uim <= u`: one
///   index seek per run. Blocks are rows of a rowid table (their ids grow, so writes
///   append). Generated postings take ~11 bytes instead of ~68 as JSON text; the index
///   is written several times over by merges and again by every WAL checkpoint, so this
///   halved the bytes a capture writes (docs/performance.md).
/// - **Runs.** Every write of events (a captured document, an applied delta) appends its new
///   postings as one new run, numbered above every run that exists.
///   `posting_runs(run, postings, level)` lists the live runs (`postings`: postings written
///   into the run; deletes do not lower it, it only guides merging).
/// - **Merges.** In the same transaction, `maintain` merges runs of one level when there are
///   `fanout` of them (size-tiered): the runs' blocks are read in key order, merged, and
///   written once as a new run; the old runs' blocks are deleted. A run's level is 0 below
///   `baseRun` postings and one more per factor `fanout` above it, so at most `fanout − 1`
///   runs per level remain and a posting is rewritten about `log_fanout(total / baseRun)`
///   times. Runs at `topLevel` (about 1M postings and more) are not merged again, so no
///   write waits for more than one merge of at most ~4M postings (seconds); above that the
///   runs add up, one index seek per run and lookup (about 60 runs at 10M generated events).
/// - **Reads.** `postings(_:uim:)` finds a UIM's postings (one seek and one block decoded per
///   live run); the store's queries use it and then read events by row ID. The views
///   `uims(uim, event_id, role)` and `aggregation_links` remain for whole-index questions
///   (status counts, checks): they decode every block (`json_each` over the SQL function
///   `fedtrace_postings(data)`, which the store's connections register; a plain `sqlite3`
///   shell cannot read them), so a lookup through them reads the whole index. Readers see runs and blocks of one snapshot (WAL).
/// - **Deletes.** Deleting an event must delete its postings in the same transaction
///   (`remove`): its references are derived again from its stored raw bytes, exactly as
///   at capture (`EPCISDocumentParser.validateReceived`); the blocks holding them are
///   rewritten without them (a block left empty is deleted, a block keeps its `first_uim`).
///   There is no by-event index.
/// - **Aggregation links.** `events.parent` holds the canonical `parentID` of each event.
///   A UIM's containers (trace up) are the parents of the events where it is a child; the
///   children of a container (trace down) are read from the raw bytes of the packing
///   events where it is the parent (`EventStore.trace`, `references(ofRaw:)`).
public enum PostingIndex {
    /// Runs of one level merged together when there are this many.
    static let fanout = 4
    /// Runs with fewer postings than this are level 0.
    static let baseRun = 4096

    /// The level of a run of `postings` rows.
    static func level(ofRunWith postings: Int) -> Int {
        var level = 0
        var size = baseRun
        while postings >= size {
            level += 1
            size *= fanout
        }
        return level
    }

    /// SQL for the level of a run of `postings` rows (an SQL expression), capped at
    /// `topLevel`: `min(level(ofRunWith:), topLevel)`, for migrations that make runs.
    static func levelSQL(of postings: String) -> String {
        var cases: [String] = []
        var size = baseRun
        for level in 0..<topLevel {
            cases.append("WHEN \(postings) < \(size) THEN \(level)")
            size *= fanout
        }
        return "CASE \(cases.joined(separator: " ")) ELSE \(topLevel) END"
    }

    /// One posting before it is stored: the canonical UIM, the event's row ID, the role.
    public struct Posting: Sendable {
        let uim: String
        let eventID: Int64
        let role: String

        public init(uim: String, eventID: Int64, role: String) {
            self.uim = uim
            self.eventID = eventID
            self.role = role
        }
    }

    /// A block closes once it holds this many bytes, at the next change of UIM (about 150
    /// generated postings, ~11 bytes each). Under a 16 KiB page's local payload limit, so a
    /// block never spills into overflow pages; a lookup decodes one block per run.
    static let blockBytes = 1700

    /// Appends blocks packed in key order as a new run and merges runs as the contract
    /// says. Inside the caller's write transaction.
    static func append(_ db: Database, blocks: [Block]) throws {
        guard !blocks.isEmpty else { return }
        let run = try nextRun(db)
        for block in blocks { try insert(db, block, run: run) }
        let stored = blocks.reduce(0) { $0 + $1.count }
        try db.cached("INSERT INTO posting_runs(run, postings, level) VALUES (?, ?, ?)")
            .bind([.integer(run), .integer(Int64(stored)), .integer(Int64(level(ofRunWith: stored)))]).run()
        try maintain(db)
    }

    /// `postings` (any order) sorted into key order and packed into blocks.
    public static func blocks(of postings: [Posting]) -> [Block] {
        blocks(of: sortedKeys(postings)) { $0 }
    }

    /// Sorted references packed into blocks; `eventID` turns a key's number into the event's
    /// row ID, or nil to leave the reference out. It must keep the numbers' order, so the
    /// blocks come out in key order (uim, event_id, role).
    static func blocks(of sorted: ReferenceKeys, eventID: (Int64) -> Int64?) -> [Block] {
        precondition(sorted.isSorted)
        // Every role a reference can have has a code (UIMRole and `roles` are tested to agree).
        let codes = sorted.roles.map { role in
            guard let code = roleCode(role) else { preconditionFailure("a reference role with no block code") }
            return code
        }
        var encoder = BlockEncoder()
        var blocks: [Block] = []
        sorted.bytes.withUnsafeBufferPointer { uims in
            for key in sorted.keys {
                guard let id = eventID(key.number) else { continue }
                let uim = UnsafeBufferPointer(rebasing: uims[key.start..<(key.start + key.count)])
                if let closed = encoder.add(uim: uim, eventID: id, role: codes[key.role]) { blocks.append(closed) }
            }
        }
        if let last = encoder.finish() { blocks.append(last) }
        return blocks
    }

    /// Writes one block of `run`.
    public static func insert(_ db: Database, _ block: Block, run: Int64) throws {
        let insert = try db.cached("INSERT INTO posting_blocks(run, first_uim, postings, data) VALUES (?, ?, ?, ?)")
        insert.reset()
        try insert.bind(.integer(run), at: 1)
        try block.firstUIM.withUnsafeBytes { buffer throws in try insert.bindText(buffer, at: 2) }
        try insert.bind(.integer(Int64(block.count)), at: 3)
        try insert.bind(.blob(block.data), at: 4)
        try insert.run()
    }

    /// One block as written: its first UIM, how many postings, and its bytes.
    public struct Block: Sendable {
        let firstUIM: [UInt8]
        public let count: Int
        let data: [UInt8]
    }

    // MARK: - Block format

    /// The first byte of every block: the format of the contract above. Blocks of 0009 were JSON text
    /// (first byte `[`); 0010 rewrote them.
    static let formatByte: UInt8 = 1

    /// Roles as stored, code = position + 1. In the roles' text order, so comparing codes
    /// orders postings exactly as comparing the role text did (and as `ReferenceKeys` sorts).
    /// Codes are part of the stored format: a new role takes a new format (a migration).
    static let roles: [String] = ["child", "class", "epc", "input", "output", "parent"]
    private static let roleBytes: [[UInt8]] = roles.map { Array($0.utf8) }

    /// The code of a role given as its text, nil for a role blocks cannot hold.
    static func roleCode(_ role: [UInt8]) -> UInt8? {
        roleBytes.firstIndex(of: role).map { UInt8($0 + 1) }
    }

    static func roleCode(_ role: String) -> UInt8? { roleCode(Array(role.utf8)) }

    /// The text of a role code read from a block (checked by the reader).
    static func roleText(_ code: UInt8) -> String { roles[Int(code) - 1] }

    /// Packs postings given in key order into blocks (the contract's rules: `blockBytes`,
    /// closed only where the UIM changes; a posting equal to the one before is dropped).
    struct BlockEncoder {
        /// The block under way is `buffer[0 ..< length]`; the buffer keeps its size between
        /// blocks and postings are written into it through a pointer (appending byte by
        /// byte to an array was most of the encoder's time: it runs for every posting a
        /// capture writes and again at every merge, on the writer's thread).
        private var buffer: [UInt8] = []
        private var length = 0
        private var first: [UInt8] = []
        /// The UIM of the posting before: `last[0 ..< lastCount]`.
        private var last: [UInt8] = []
        private var lastCount = 0
        private var lastEvent: Int64 = 0
        private var lastRole: UInt8 = 0
        private var count = 0
        /// Postings taken so far (duplicates not counted).
        private(set) var added = 0

        /// Adds the next posting (`role` a code of `PostingIndex.roles`); returns the block it
        /// closed, if it closed one.
        mutating func add(uim: UnsafeBufferPointer<UInt8>, eventID: Int64, role: UInt8) -> Block? {
            precondition(role >= 1 && Int(role) <= PostingIndex.roles.count)
            // One pass gives both the prefix shared with the last UIM and whether it is the same.
            let lastCount = self.lastCount
            var shared = count > 0 ? last.withUnsafeBufferPointer { Self.commonPrefix(uim, UnsafeBufferPointer(rebasing: $0[..<lastCount])) } : 0
            let sameUIM = count > 0 && shared == uim.count && shared == lastCount
            if sameUIM && eventID == lastEvent && role == lastRole { return nil }
            var closed: Block?
            if count > 0 && length >= PostingIndex.blockBytes && !sameUIM { closed = finish() }
            if count == 0 {
                shared = 0
                length = 0
                Self.reserve(&buffer, 1)
                buffer[0] = PostingIndex.formatByte
                length = 1
                first = Array(uim)
            }
            let suffix = uim.count - shared
            // Three varints of at most 10 bytes, the suffix, the role.
            Self.reserve(&buffer, length + 31 + suffix)
            length = buffer.withUnsafeMutableBufferPointer { out in
                var n = Self.writeVarint(UInt64(shared), to: out, at: length)
                n = Self.writeVarint(UInt64(suffix), to: out, at: n)
                if suffix > 0 {
                    UnsafeMutableRawPointer(out.baseAddress! + n).copyMemory(from: uim.baseAddress! + shared, byteCount: suffix)
                    n += suffix
                }
                n = Self.writeVarint(UInt64(bitPattern: eventID), to: out, at: n)
                out[n] = role
                return n + 1
            }
            if !sameUIM {
                Self.reserve(&last, uim.count)
                if suffix > 0 {
                    last.withUnsafeMutableBufferPointer { out in
                        UnsafeMutableRawPointer(out.baseAddress! + shared).copyMemory(from: uim.baseAddress! + shared, byteCount: suffix)
                    }
                }
                self.lastCount = uim.count
            }
            lastEvent = eventID
            lastRole = role
            count += 1
            added += 1
            return closed
        }

        /// Grows `array` (zero-filled, at least doubling) to hold `size` bytes.
        @inline(__always) private static func reserve(_ array: inout [UInt8], _ size: Int) {
            if array.count < size { array.append(contentsOf: repeatElement(0, count: max(size - array.count, array.count))) }
        }

        /// `add` with the UIM and role as text (a role blocks cannot hold is a corrupt index:
        /// this path re-encodes postings read back from the store).
        mutating func add(uim: String, eventID: Int64, role: String) throws -> Block? {
            guard let code = PostingIndex.roleCode(role) else { throw PostingIndex.corrupt("a posting has the unknown role \(role.debugDescription)") }
            var uim = uim
            return uim.withUTF8 { add(uim: $0, eventID: eventID, role: code) }
        }

        /// The length of the longest common prefix of `a` and `b`, eight bytes at a time.
        static func commonPrefix(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
            let n = min(a.count, b.count)
            guard n > 0, let p = a.baseAddress, let q = b.baseAddress else { return 0 }
            return commonPrefixLength(p, q, n)
        }

        /// Closes the block under way, if any.
        mutating func finish() -> Block? {
            guard count > 0 else { return nil }
            let block = Block(firstUIM: first, count: count, data: Array(buffer[0..<length]))
            count = 0
            return block
        }

        /// Unsigned LEB128 (seven bits a byte, low bits first, the high bit set on every
        /// byte but the last) written at `out[at...]` (room for 10 bytes); the index after it.
        @inline(__always) static func writeVarint(_ value: UInt64, to out: UnsafeMutableBufferPointer<UInt8>, at: Int) -> Int {
            var rest = value
            var n = at
            while rest >= 0x80 {
                out[n] = UInt8(truncatingIfNeeded: rest) | 0x80
                rest >>= 7
                n += 1
            }
            out[n] = UInt8(rest)
            return n + 1
        }
    }

    /// A block read in place, strictly as `BlockEncoder` writes it (anything else is a
    /// corrupt index): each entry's UIM (rebuilt from the shared prefix, into `bytes`), event
    /// ID and role code. The entries must be in strictly increasing key order.
    struct BlockScan {
        struct Entry {
            var uim: Range<Int>
            var eventID: Int64
            var role: UInt8
        }

        /// The entries' UIMs, one after another (an entry with the UIM of the one before
        /// shares its range).
        private(set) var bytes: [UInt8] = []
        private(set) var entries: [Entry] = []

        init(_ data: [UInt8]) throws {
            guard let format = data.first else { throw PostingIndex.corrupt("an empty block") }
            guard format == PostingIndex.formatByte else {
                throw PostingIndex.corrupt("a block in an unknown format (first byte \(format))")
            }
            bytes.reserveCapacity(data.count * 3)
            try data.withUnsafeBufferPointer { d in
                var i = 1
                let end = d.count
                func varint() throws -> UInt64 {
                    var value: UInt64 = 0
                    var shift: UInt64 = 0
                    while true {
                        guard i < end else { throw PostingIndex.corrupt("a block ends inside a number") }
                        let byte = d[i]
                        i += 1
                        guard shift < 64, shift < 63 || byte <= 1 else { throw PostingIndex.corrupt("a block holds a number out of range") }
                        value |= UInt64(byte & 0x7f) << shift
                        if byte < 0x80 { return value }
                        shift += 7
                    }
                }
                var previous: Entry?
                while i < end {
                    let shared = try varint()
                    let suffix = try varint()
                    let previousCount = previous.map { $0.uim.count } ?? 0
                    guard shared <= UInt64(previousCount) else { throw PostingIndex.corrupt("a block entry shares more than the UIM before it") }
                    guard suffix <= UInt64(end - i) else { throw PostingIndex.corrupt("a block ends inside a UIM") }
                    let sharedCount = Int(shared), suffixCount = Int(suffix)
                    let uim: Range<Int>
                    var order = 0  // the new UIM against the one before: -1, 0, 1
                    if let previous, sharedCount == previous.uim.count && suffixCount == 0 {
                        uim = previous.uim
                    } else {
                        let start = bytes.count
                        if let previous {
                            bytes.append(contentsOf: bytes[previous.uim.lowerBound..<(previous.uim.lowerBound + sharedCount)])
                            if sharedCount == previous.uim.count {
                                order = 1  // longer than the UIM it extends
                            } else if suffixCount == 0 {
                                order = -1  // a proper prefix of the UIM before
                            } else {
                                let before = bytes[previous.uim.lowerBound + sharedCount], after = d[i]
                                order = after > before ? 1 : (after < before ? -1 : 0)
                            }
                        }
                        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: d[i..<(i + suffixCount)]))
                        uim = start..<bytes.count
                    }
                    i += suffixCount
                    let eventID = Int64(bitPattern: try varint())
                    guard i < end else { throw PostingIndex.corrupt("a block entry has no role") }
                    let role = d[i]
                    i += 1
                    guard role >= 1 && Int(role) <= PostingIndex.roles.count else { throw PostingIndex.corrupt("a block holds the unknown role code \(role)") }
                    if let previous {
                        // Strictly increasing (uim, event_id, role); a shared prefix that is
                        // not the whole common prefix shows as equal bytes at the split.
                        let increasing = order > 0 || (order == 0 && uim == previous.uim
                            && (eventID > previous.eventID || (eventID == previous.eventID && role > previous.role)))
                        guard increasing else { throw PostingIndex.corrupt("a block's postings are out of order") }
                    } else if shared != 0 {
                        throw PostingIndex.corrupt("a block's first entry shares a prefix")
                    }
                    let entry = Entry(uim: uim, eventID: eventID, role: role)
                    entries.append(entry)
                    previous = entry
                }
            }
        }

        func string(_ range: Range<Int>) -> String {
            String(decoding: bytes[range], as: UTF8.self)
        }

        /// Byte order of the entry's (uim, event, role) against another scan's entry.
        func compare(_ a: Entry, with other: BlockScan, _ b: Entry) -> Int {
            let byUIM = Self.order(bytes[a.uim], other.bytes[b.uim])
            if byUIM != 0 { return byUIM }
            if a.eventID != b.eventID { return a.eventID < b.eventID ? -1 : 1 }
            return a.role == b.role ? 0 : (a.role < b.role ? -1 : 1)
        }

        static func order(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
            a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in compareBytes(x, y) } }
        }
    }

    /// The postings of a block's text, in its order.
    static func decode(_ data: [UInt8]) throws -> [(uim: String, eventID: Int64, role: String)] {
        let scan = try BlockScan(data)
        return scan.entries.map { (scan.string($0.uim), $0.eventID, roleText($0.role)) }
    }

    /// A block's postings as the JSON text `[[uim, event_id, role], …]`, for the SQL function
    /// `fedtrace_postings(data)` that the `uims` view reads blocks through.
    static func json(ofBlock data: [UInt8]) throws -> [UInt8] {
        let scan = try BlockScan(data)
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(scan.bytes.count + scan.entries.count * 24)
        for (n, entry) in scan.entries.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "["))
            JSONWriter.writeString(scan.string(entry.uim), into: &out)
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: String(entry.eventID).utf8)
            out.append(UInt8(ascii: ","))
            JSONWriter.writeString(roleText(entry.role), into: &out)
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// Migration 0010: rewrites every block still in 0009's JSON text (`[[uim, event_id,
    /// role], …]`, read with SQLite's JSON functions, strictly) in the binary format.
    /// Blocks already binary are left as they are.
    static func convertJSONBlocks(_ db: Database) throws {
        let ids = try db.prepare("SELECT id FROM posting_blocks WHERE typeof(data) = 'text' ORDER BY id").rows { $0.int64(0) }
        let block = try db.prepare("SELECT run, first_uim, data FROM posting_blocks WHERE id = ?")
        let entries = try db.prepare("""
            SELECT json_array_length(j.value), json_type(j.value, '$[0]'), json_type(j.value, '$[1]'), json_type(j.value, '$[2]'),
                   json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]'), j.type
            FROM json_each(?) j ORDER BY j.key
            """)
        for id in ids {
            try block.bind([.integer(id)])
            guard try block.step() else { throw corrupt("block \(id) vanished during the upgrade") }
            let run = block.int64(0), firstUIM = block.text(1) ?? "", text = block.text(2) ?? ""
            block.reset()
            var encoder = BlockEncoder()
            var rewritten: [Block] = []
            do {
                try entries.bind([.text(text)])
                while try entries.step() {
                    guard entries.text(7) == "array", entries.int64(0) == 3, entries.text(1) == "text",
                          entries.text(2) == "integer", entries.text(3) == "text"
                    else { throw corrupt("block \(id) is not [[uim, event, role], …]") }
                    if let closed = try encoder.add(uim: entries.text(4) ?? "", eventID: entries.int64(5), role: entries.text(6) ?? "") {
                        rewritten.append(closed)
                    }
                }
                entries.reset()
            } catch let error as StoreError where error.code.hasPrefix("store.sqlite.") {
                entries.reset()
                throw corrupt("block \(id) is not JSON text (\(error.reason))")
            }
            if let last = encoder.finish() { rewritten.append(last) }
            guard let head = rewritten.first, head.firstUIM == Array(firstUIM.utf8) else {
                throw corrupt("block \(id) does not begin with its first UIM")
            }
            for written in rewritten { _ = try BlockScan(written.data) }  // in key order, or corrupt
            try db.cached("DELETE FROM posting_blocks WHERE id = ?").bind([.integer(id)]).run()
            for written in rewritten { try insert(db, written, run: run) }
        }
    }

    static func corrupt(_ reason: String) -> StoreError {
        StoreError(code: "store.index.corrupt", reason: "UIM index: \(reason); restore the store from a backup")
    }

    /// The postings of the canonical UIM `uim` in every live run: one index seek and one
    /// block decoded per run. Inside a read or write.
    static func postings(_ db: Database, uim: String) throws -> [(eventID: Int64, role: String)] {
        let blocks = try db.cached("""
            SELECT (SELECT b.data FROM posting_blocks b WHERE b.run = r.run AND b.first_uim <= ?1 ORDER BY b.first_uim DESC LIMIT 1)
            FROM posting_runs r
            """)
        try blocks.bind(.text(uim), at: 1)
        defer { blocks.reset() }
        let key = ArraySlice(uim.utf8)
        var found: [(eventID: Int64, role: String)] = []
        while try blocks.step() {
            guard !blocks.isNull(0) else { continue }
            let scan = try BlockScan(blocks.blob(0))
            for entry in scan.entries where BlockScan.order(scan.bytes[entry.uim], key) == 0 {
                found.append((entry.eventID, roleText(entry.role)))
            }
        }
        return found
    }

    /// `postings` in key order (uim, event_id, role), as SQLite's BINARY collation orders
    /// them (`ReferenceKeys`, the number being the event's row ID).
    static func sortedKeys(_ postings: [Posting]) -> ReferenceKeys {
        var keys = ReferenceKeys(expectedCount: postings.count, expectedBytes: postings.reduce(0) { $0 + $1.uim.utf8.count })
        for posting in postings { keys.add(uim: posting.uim, number: posting.eventID, role: posting.role) }
        keys.sort()
        return keys
    }

    /// The number for a new run: above every run that exists (so its rows append).
    static func nextRun(_ db: Database) throws -> Int64 {
        let s = try db.cached("SELECT coalesce(max(run), 0) + 1 FROM posting_runs")
        defer { s.reset() }
        return try s.step() ? s.int64(0) : 1
    }

    /// Runs at this level or above are not merged again: a merge runs inside a write and
    /// holds the one writer, and merging four level-4 runs (≤ 4M postings) already takes
    /// seconds. Above it, runs accumulate (one per ~1–4M postings, one more seek each).
    static let topLevel = 5

    /// Merges runs while some level below `topLevel` holds `fanout` of them (lowest first).
    static func maintain(_ db: Database, topLevel: Int = PostingIndex.topLevel) throws {
        while true {
            let full = try db.cached("SELECT level FROM posting_runs WHERE level < ? GROUP BY level HAVING count(*) >= ? ORDER BY level LIMIT 1")
            try full.bind(.integer(Int64(topLevel)), at: 1)
            try full.bind(.integer(Int64(fanout)), at: 2)
            let level = try full.step() ? full.int64(0) : nil
            full.reset()
            guard let level else { return }
            let runs = try db.cached("SELECT run FROM posting_runs WHERE level = ? ORDER BY run").bind([.integer(level)]).rows { $0.int64(0) }
            try merge(db, runs: runs)
        }
    }

    /// Writes `runs` as one new run and deletes them: their blocks are read in key order
    /// (one cursor per run, a block decoded at a time) and merged.
    static func merge(_ db: Database, runs: [Int64]) throws {
        guard runs.count > 1 else { return }
        let run = try nextRun(db)
        var cursors = try cursors(db, runs: runs)
        var encoder = BlockEncoder()
        while !cursors.isEmpty {
            let smallest = first(cursors)
            let entry = cursors[smallest].head
            let closed = cursors[smallest].scan.bytes.withUnsafeBufferPointer { b in
                encoder.add(uim: UnsafeBufferPointer(rebasing: b[entry.uim]), eventID: entry.eventID, role: entry.role)
            }
            if let closed { try insert(db, closed, run: run) }
            if try !cursors[smallest].advance() { cursors.remove(at: smallest) }
        }
        if let block = encoder.finish() { try insert(db, block, run: run) }
        let list = runs.map(String.init).joined(separator: ",")
        try db.execute("DELETE FROM posting_blocks WHERE run IN (\(list))")
        try db.execute("DELETE FROM posting_runs WHERE run IN (\(list))")
        try db.cached("INSERT INTO posting_runs(run, postings, level) VALUES (?, ?, ?)")
            .bind([.integer(run), .integer(Int64(encoder.added)), .integer(Int64(level(ofRunWith: encoder.added)))]).run()
    }

    /// Reads one run's postings in key order, a block at a time.
    struct RunCursor {
        let blocks: Statement
        var scan: BlockScan
        var position = 0

        init(_ blocks: Statement) throws {
            self.blocks = blocks
            scan = try BlockScan([PostingIndex.formatByte])
            position = -1
        }

        /// Moves to the next posting; false at the end of the run.
        mutating func advance() throws -> Bool {
            position += 1
            while position >= scan.entries.count {
                guard try blocks.step() else { return false }
                scan = try BlockScan(blocks.blob(0))
                position = 0
            }
            return true
        }
        var head: BlockScan.Entry { scan.entries[position] }
    }

    /// Cursors over every posting of `runs`, each at its first posting.
    static func cursors(_ db: Database, runs: [Int64]) throws -> [RunCursor] {
        var cursors: [RunCursor] = []
        for run in runs {
            var cursor = try RunCursor(try db.prepare("SELECT data FROM posting_blocks WHERE run = ? ORDER BY first_uim").bind([.integer(run)]))
            if try cursor.advance() { cursors.append(cursor) }
        }
        return cursors
    }

    /// The index of the cursor whose posting comes first.
    static func first(_ cursors: [RunCursor]) -> Int {
        var smallest = 0
        for k in 1..<cursors.count where cursors[k].scan.compare(cursors[k].head, with: cursors[smallest].scan, cursors[smallest].head) < 0 {
            smallest = k
        }
        return smallest
    }

    /// Distinct UIMs in the index, and postings that are aggregation links (a child or
    /// class of a packing event: the `aggregation_links` view), by one ordered pass over
    /// every run (the views decode the same blocks through `json_each`, twice as slowly).
    static func counts(_ db: Database) throws -> (uims: Int, aggregationLinks: Int) {
        let packing = Set(try db.prepare("""
            SELECT id FROM events WHERE parent IS NOT NULL AND type IN ('AggregationEvent', 'AssociationEvent') AND action IN ('ADD', 'DELETE')
            """).rows { $0.int64(0) })
        var cursors = try cursors(db, runs: try db.prepare("SELECT run FROM posting_runs ORDER BY run").rows { $0.int64(0) })
        var uims = 0
        var links = 0
        var last: [UInt8]? = nil
        let child = roleCode(UIMRole.child.rawValue), quantityClass = roleCode(UIMRole.quantityClass.rawValue)
        while !cursors.isEmpty {
            let k = first(cursors)
            let scan = cursors[k].scan, entry = cursors[k].head
            let uim = scan.bytes[entry.uim]
            if last == nil || BlockScan.order(uim, last![...]) != 0 {
                uims += 1
                last = Array(uim)
            }
            if packing.contains(entry.eventID) && (entry.role == child || entry.role == quantityClass) { links += 1 }
            if try !cursors[k].advance() { cursors.remove(at: k) }
        }
        return (uims, links)
    }

    /// Deletes the postings of the event `eventID` whose stored raw bytes are `raw`, inside
    /// the caller's transaction (before or after the event row itself).
    static func remove(_ db: Database, eventID: Int64, raw: [UInt8]) throws {
        var blockIDs = Set<Int64>()
        let references = references(ofRaw: raw)
        let find = try db.cached("""
            SELECT (SELECT b.id FROM posting_blocks b WHERE b.run = r.run AND b.first_uim <= ?1 ORDER BY b.first_uim DESC LIMIT 1)
            FROM posting_runs r
            """)
        for reference in references {
            try find.bind(.text(reference.uim), at: 1)
            while try find.step() { if !find.isNull(0) { blockIDs.insert(find.int64(0)) } }
            find.reset()
        }
        if references.isEmpty {
            // Bytes that no longer give their references (they did when stored): find the
            // blocks naming the event by reading every block, rather than leave postings
            // that a later event with a reused row ID would inherit. Rare and slow (one pass
            // over the index).
            let every = try db.prepare("SELECT id, data FROM posting_blocks")
            while try every.step() {
                if try BlockScan(every.blob(1)).entries.contains(where: { $0.eventID == eventID }) { blockIDs.insert(every.int64(0)) }
            }
        }
        let read = try db.cached("SELECT data FROM posting_blocks WHERE id = ?")
        for id in blockIDs.sorted() {
            let entries = try decode(try read.bind([.integer(id)]).rows { $0.blob(0) }.first ?? [])
            let kept = entries.filter { $0.eventID != eventID }
            guard kept.count < entries.count else { continue }
            if kept.isEmpty {
                try db.cached("DELETE FROM posting_blocks WHERE id = ?").bind([.integer(id)]).run()
                continue
            }
            var encoder = BlockEncoder()
            for entry in kept where try encoder.add(uim: entry.uim, eventID: entry.eventID, role: entry.role) != nil {
                throw corrupt("block \(id) holds a UIM change past \(blockBytes) bytes")
            }
            // Fewer postings than before, so one block (it keeps its first_uim: the key
            // stays below every UIM it holds and above the previous block's).
            guard let block = encoder.finish() else { continue }
            let update = try db.cached("UPDATE posting_blocks SET postings = ?, data = ? WHERE id = ?")
            update.reset()
            try update.bind(.integer(Int64(block.count)), at: 1)
            try update.bind(.blob(block.data), at: 2)
            try update.bind(.integer(id), at: 3)
            try update.run()
        }
    }

    /// The UIM references of a stored event, from its raw bytes (as at capture); none if the
    /// bytes no longer parse (they were validated when stored).
    static func references(ofRaw raw: [UInt8]) -> [UIMReference] {
        storedReferences(ofRaw: raw) ?? []
    }

    /// The same, or nil when the bytes no longer read (so a caller can tell "names nothing"
    /// from "cannot tell").
    static func storedReferences(ofRaw raw: [UInt8]) -> [UIMReference]? {
        guard case .object(let object)? = try? JSONParser.parse(raw, limits: EPCISDocumentParser.limits),
              let event = try? EPCISDocumentParser.validateReceived(object, bytes: raw, hashID: "", location: "stored event")
        else { return nil }
        return event.uims
    }
}
