import Foundation
import Model

extension Trace {
    /// A stretch of event time (ms since the epoch), both ends included; nil is unbounded.
    public struct Period: Sendable, Equatable {
        public let from: Int64?
        public let to: Int64?

        public init(from: Int64?, to: Int64?) {
            self.from = from
            self.to = to
        }

        /// All of time: the starting UIM's own period.
        public static let always = Period(from: nil, to: nil)

        func contains(_ time: Int64) -> Bool { time >= (from ?? .min) && time <= (to ?? .max) }

        func covers(_ other: Period) -> Bool { (from ?? .min) <= (other.from ?? .min) && (to ?? .max) >= (other.to ?? .max) }

        /// The time both periods share, or nil when they do not meet.
        func intersection(_ other: Period) -> Period? {
            let low = max(from ?? .min, other.from ?? .min), high = min(to ?? .max, other.to ?? .max)
            guard low <= high else { return nil }
            return Period(from: low == .min ? nil : low, to: high == .max ? nil : high)
        }
    }
}

/// How `EventStore.trace` walks aggregation through time.
///
/// Containment: an ADD (AggregationEvent or AssociationEvent) puts each child it names into
/// its parent from its event time on. The child stays there until the first later event
/// of the same type (by event time, then row: arrival order for events of the same
/// millisecond) that takes it out: a DELETE naming it from that parent, a DELETE of that
/// parent naming no contents (EPCIS: everything comes out), or an ADD putting it into
/// another parent. Aggregation (physical packing) and association (a sensor or asset
/// attached) are separate relations: one never ends the other. Both ends are included.
/// Events declared erroneous (an errorDeclaration is stored for their hash ID) and the
/// declarations themselves move nothing; a stored event whose bytes no longer read is not
/// taken as emptying anything. OBSERVE events confirm a link but do not make one here.
///
/// Up: every container the UIM was ever in, each with the periods the UIM was inside it
/// (through every level between), so a pack whose case moved from one pallet to another
/// shows both pallets; a container's events are those within its periods (a pallet's
/// shipment after the pack left it is not the pack's). Down: everything ever packed into
/// the UIM, with the periods each was inside; a content's events are its history up to the
/// end of each period (where it came from, not where it went after it was taken out). The
/// starting UIM's events are all of its events.
struct TraceWalk {
    struct Named {
        let event: StoredEvent
        let parent: String?
        /// The roles the walked UIM has in the event.
        let roles: Set<String>
        var isPacking: Bool { event.type == "AggregationEvent" || event.type == "AssociationEvent" }
    }

    let db: Database
    let maxUIMs: Int
    private var naming: [String: [Named]] = [:]
    /// Each event's references read from its raw bytes, once (nil: they no longer read).
    private var referencesByRow: [Int64: [UIMReference]?] = [:]
    /// Each (parent, event type)'s emptying DELETEs, once.
    private var emptyingsByParent: [String: [StoredEvent]] = [:]
    private(set) var levels: [Trace.Level] = []
    private var index: [String: Int] = [:]
    private(set) var truncated = false

    init(db: Database, maxUIMs: Int) {
        self.db = db
        self.maxUIMs = maxUIMs
    }

    /// Walks up and down from `uim`; `levels` and `events()` hold the result.
    mutating func run(from uim: String) throws {
        levels = [Trace.Level(uim: uim, depth: 0, parent: nil, periods: [.always])]
        index = [uim: 0]
        try up(from: uim, within: .always, depth: 0, steps: 0)
        try down(from: uim)
    }

    /// The events of every level within its periods, oldest first, and which level UIMs each names.
    mutating func events() throws -> (events: [StoredEvent], uims: [Int64: [String]]) {
        var byRow: [Int64: StoredEvent] = [:]
        var eventUIMs: [Int64: [String]] = [:]
        for level in levels {
            // Contents bring their history up to the time they were taken out (where they came from).
            let periods = level.depth > 0 ? level.periods.map { Trace.Period(from: nil, to: $0.to) } : level.periods
            for named in try events(naming: level.uim) where periods.contains(where: { $0.contains(named.event.eventTimeMillis) }) {
                byRow[named.event.rowID] = named.event
                if eventUIMs[named.event.rowID]?.last != level.uim { eventUIMs[named.event.rowID, default: []].append(level.uim) }
            }
        }
        let events = byRow.values.sorted { ($0.eventTimeMillis, $0.rowID) < ($1.eventTimeMillis, $1.rowID) }
        return (events, eventUIMs)
    }

    /// The containers of `child` within `window`, recursively. A container met again is
    /// walked again only for time it was not yet walked for (so cycles end).
    private mutating func up(from child: String, within window: Trace.Period, depth: Int, steps: Int) throws {
        guard steps < 64 else { return }
        for (parent, period) in try containment(of: child) {
            guard let shared = period.intersection(window) else { continue }
            if let i = index[parent] {
                guard levels[i].depth < 0, !levels[i].periods.contains(where: { $0.covers(shared) }) else { continue }
                levels[i] = levels[i].adding(shared)
            } else {
                guard levels.count < maxUIMs else { truncated = true; return }
                index[parent] = levels.count
                levels.append(Trace.Level(uim: parent, depth: depth - 1, parent: nil, periods: [shared]))
            }
            try up(from: parent, within: shared, depth: depth - 1, steps: steps + 1)
        }
    }

    /// The contents of `root`, breadth first, each with the periods it was inside.
    private mutating func down(from root: String) throws {
        var frontier: [(uim: String, window: Trace.Period)] = [(root, .always)]
        var depth = 0
        while !frontier.isEmpty && !truncated {
            depth += 1
            var next: [(uim: String, window: Trace.Period)] = []
            for (parent, window) in frontier {
                var contents: Set<String> = []
                for named in try events(naming: parent) where named.roles.contains("parent") && named.isPacking && named.event.action == "ADD" {
                    for reference in references(of: named.event) ?? [] where reference.role == .child || reference.role == .quantityClass {
                        contents.insert(reference.uim)
                    }
                }
                for child in contents.sorted(by: { codePointOrder($0, $1) < 0 }) {
                    let periods = try containment(of: child).filter { $0.parent == parent }.compactMap { $0.period.intersection(window) }
                    guard !periods.isEmpty else { continue }
                    if let i = index[child] {
                        // Already a level: the start, a container (a cycle), or contents met by another path.
                        guard levels[i].depth > 0 else { continue }
                        let uncovered = periods.filter { p in !levels[i].periods.contains { $0.covers(p) } }
                        guard !uncovered.isEmpty else { continue }
                        for period in uncovered { levels[i] = levels[i].adding(period) }
                        next += uncovered.map { (child, $0) }
                        continue
                    }
                    guard levels.count < maxUIMs else { truncated = true; break }
                    index[child] = levels.count
                    levels.append(periods.reduce(Trace.Level(uim: child, depth: depth, parent: parent, periods: [])) { $0.adding($1) })
                    next += periods.map { (child, $0) }
                }
                if truncated { break }
            }
            frontier = next
        }
    }

    /// When `child` was inside which parent (see the type's contract).
    mutating func containment(of child: String) throws -> [(parent: String, period: Trace.Period)] {
        let named = try events(naming: child)
        let erroneous = Set(named.filter { $0.event.declaresError }.map(\.event.hashID))
        let links = named.filter {
            ($0.roles.contains("child") || $0.roles.contains("class")) && $0.isPacking && $0.parent != nil
                && ($0.event.action == "ADD" || $0.event.action == "DELETE") && !erroneous.contains($0.event.hashID)
        }
        var result: [(parent: String, period: Trace.Period)] = []
        for (i, add) in links.enumerated() where add.event.action == "ADD" {
            guard let parent = add.parent else { continue }
            let type = add.event.type
            var end = links[(i + 1)...].first {
                $0.event.type == type && (($0.event.action == "DELETE" && $0.parent == parent) || ($0.event.action == "ADD" && $0.parent != parent))
            }?.event
            if let emptied = try emptyings(of: parent).first(where: { $0.type == type && Self.order($0, after: add.event) }),
               end.map({ Self.order(emptied, before: $0) }) ?? true {
                end = emptied
            }
            result.append((parent, Trace.Period(from: add.event.eventTimeMillis, to: end?.eventTimeMillis)))
        }
        return result
    }

    /// DELETE events of `parent` that name no contents (and whose bytes read), oldest first.
    private mutating func emptyings(of parent: String) throws -> [StoredEvent] {
        if let known = emptyingsByParent[parent] { return known }
        let named = try events(naming: parent)
        let erroneous = Set(named.filter { $0.event.declaresError }.map(\.event.hashID))
        var found: [StoredEvent] = []
        for candidate in named where candidate.roles.contains("parent") && candidate.isPacking && candidate.event.action == "DELETE"
            && !erroneous.contains(candidate.event.hashID) {
            guard let references = references(of: candidate.event) else { continue }
            if !references.contains(where: { $0.role == .child || $0.role == .quantityClass }) { found.append(candidate.event) }
        }
        emptyingsByParent[parent] = found
        return found
    }

    /// The references of a stored event, from its raw bytes, read once per walk.
    private mutating func references(of event: StoredEvent) -> [UIMReference]? {
        if let known = referencesByRow[event.rowID] { return known }
        let references = PostingIndex.storedReferences(ofRaw: event.raw)
        referencesByRow[event.rowID] = references
        return references
    }

    private static func order(_ a: StoredEvent, after b: StoredEvent) -> Bool {
        (a.eventTimeMillis, a.rowID) > (b.eventTimeMillis, b.rowID)
    }

    private static func order(_ a: StoredEvent, before b: StoredEvent) -> Bool {
        (a.eventTimeMillis, a.rowID) < (b.eventTimeMillis, b.rowID)
    }

    /// The events naming `uim` (any role), oldest first, read once per walk.
    private mutating func events(naming uim: String) throws -> [Named] {
        if let known = naming[uim] { return known }
        var roles: [Int64: Set<String>] = [:]
        for posting in try PostingIndex.postings(db, uim: uim) { roles[posting.eventID, default: []].insert(posting.role) }
        let rows = try db.cached("""
            SELECT \(EventStore.eventColumns), e.parent FROM events e WHERE e.id IN (SELECT value FROM json_each(?))
            ORDER BY e.event_time, e.id
            """).bind([.text(EventStore.jsonList(roles.keys))]).rows { s in (try EventStore.readEvent(s), s.text(15)) }
        let named = rows.map { Named(event: $0.0, parent: $0.1, roles: roles[$0.0.rowID] ?? []) }
        naming[uim] = named
        return named
    }
}

extension Trace.Level {
    /// The level with `period` added: periods in time order, overlapping ones merged.
    func adding(_ period: Trace.Period) -> Trace.Level {
        var merged: [Trace.Period] = []
        for next in (periods + [period]).sorted(by: { ($0.from ?? .min) < ($1.from ?? .min) }) {
            if let last = merged.last, (next.from ?? .min) <= (last.to ?? .max) {
                let to: Int64? = last.to == nil || next.to == nil ? nil : max(last.to!, next.to!)
                merged[merged.count - 1] = Trace.Period(from: last.from, to: to)
            } else {
                merged.append(next)
            }
        }
        return Trace.Level(uim: uim, depth: depth, parent: parent, periods: merged)
    }
}
