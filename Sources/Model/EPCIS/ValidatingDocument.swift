import Core
import Dispatch
import Synchronization

/// A document's events in document order, handed over in slices: what the store takes in
/// one transaction (`EventStore.capture`).
///
/// Contract:
/// - `kind`, `context` and `eventCount` are known before any event is validated (the
///   document's JSON and its event list were read).
/// - `events(inSlice: k)` for `k` in `0 ..< sliceCount` returns slice *k*'s events, which
///   follow slice *k − 1*'s in document order; together the slices are every event once.
/// - It throws the first validation error of slice *k*; a reader going through the slices
///   in order therefore meets the document's first error (document, event index, field),
///   exactly as one validation pass in order would report it. A reader that has seen an
///   error must not store anything of the document.
/// - It may block until the slice is ready, and may be called more than once.
public protocol EventSlices: Sendable {
    /// `EPCISDocument`, `EPCISQueryDocument`, or `event` for a bare event object.
    var kind: String { get }
    /// The document's `@context` (needed to read extension prefixes in `raw` events).
    var context: JSONValue? { get }
    var eventCount: Int { get }
    var sliceCount: Int { get }
    func events(inSlice k: Int) throws(ModelError) -> [EPCISEvent]
    /// Every event's `uims` as `ReferenceKeys` sorted with the event's index in the document
    /// as the number, worked out off the writer's thread; nil when there is none (the store
    /// then sorts the postings itself). Asked for only after every slice was read without
    /// an error; may block until ready.
    func sortedReferences() -> ReferenceKeys?
}

extension EventSlices {
    public func sortedReferences() -> ReferenceKeys? { nil }
}

/// A document already validated is one slice.
extension EPCISDocument: EventSlices {
    public var eventCount: Int { events.count }
    public var sliceCount: Int { 1 }
    public func events(inSlice k: Int) throws(ModelError) -> [EPCISEvent] {
        precondition(k == 0, "an EPCISDocument has one slice")
        return events
    }
}

/// A document whose JSON and event list are read and whose events are being validated and
/// hashed on every core (`EPCISDocumentParser.begin`): slices of `EPCISDocumentParser.sliceSize`
/// events, each handed out as soon as it is done. The store can insert slice 1 while later
/// slices are still being validated; a slice that fails still rolls the whole document back,
/// because the reader stops at its error inside the one transaction.
///
/// Work is claimed, never assigned: background workers claim slices in order, and a reader
/// asking for a slice nobody has claimed yet validates it (and any unclaimed slice before
/// it) on its own thread; so does a reader asking for the sorted references before a worker
/// took them on. A reader therefore only ever waits for work some running thread is doing,
/// even when no pool thread is free for the background (a request handler on a busy
/// server, itself on a pool thread, cannot starve).
///
/// Once one slice has failed, slices after it are not validated (the document is refused
/// anyway); a reader in order never reaches them.
public final class ValidatingDocument: EventSlices {
    public let kind: String
    public let context: JSONValue?
    public let eventCount: Int
    public let sliceCount: Int
    private let results: SliceResults
    /// Validates one claimed slice (with a builder from the document's pool).
    private let work: @Sendable (Int) -> Void
    private let references = OnceValue<ReferenceKeys?>()
    /// Whether someone (a worker or a reader) has taken on the sort of the references.
    private let sortClaimed = Atomic<Bool>(false)

    /// Who validates the slices.
    enum Validation {
        /// The caller's thread with the pool's, before `init` returns.
        case inline
        /// The pool's threads, while `init` returns (one slice: inline).
        case background
        /// Only the readers (what they see when no pool thread is ever free; for tests).
        case readersOnly
    }

    /// Validates `objects` (event objects of `tape`, in document order) as `validation` says.
    init(kind: String, context: JSONValue?, objects: [Int], tape: JSONTape, hashContext: HashContext, name: String,
         validation: Validation) {
        self.kind = kind
        self.context = context
        self.eventCount = objects.count
        let size = EPCISDocumentParser.sliceSize
        let sliceCount = (objects.count + size - 1) / size
        self.sliceCount = sliceCount
        let results = SliceResults(count: sliceCount)
        self.results = results
        // Builders are borrowed per slice from a pool that lives as long as the document, so
        // the values a builder remembers (a pack commissioned early and packed later) serve
        // the whole document, and builders are set up once per core rather than per slice.
        let builders = BuilderPool(context: hashContext)
        work = { (k: Int) -> Void in
            if let failed = results.firstFailure, failed < k {
                // Not worth validating: slice `failed` refuses the document.
                results.set(k, .failure(ModelError(code: "epcis.event", reason: "\(name): events after event \(failed * size) were not validated")))
                return
            }
            let builder = builders.take()
            defer { builders.put(builder) }
            var events: [EPCISEvent] = []
            let range = (k * size)..<min(objects.count, (k + 1) * size)
            events.reserveCapacity(range.count)
            for index in range {
                do throws(ModelError) {
                    events.append(try EPCISDocumentParser.validate(objects[index], in: tape, builder: builder, location: "\(name): event \(index)"))
                } catch {
                    results.set(k, .failure(error))
                    return
                }
            }
            results.set(k, .success(events))
        }
        if sliceCount < 2 || validation == .inline {
            sortClaimed.store(true, ordering: .relaxed)
            references.set(nil)
        }
        guard sliceCount > 0 else { return }
        let work = self.work
        if sliceCount == 1 || validation == .inline {
            // The caller's thread takes part; it returns when every slice is done.
            DispatchQueue.concurrentPerform(iterations: sliceCount) { _ in
                while let k = results.claim() { work(k) }
            }
            return
        }
        guard validation == .background else { return }
        DispatchQueue.global().async { [self] in
            DispatchQueue.concurrentPerform(iterations: sliceCount) { _ in
                while let k = results.claim() { work(k) }
            }
            // The store's sort of the document's postings, done here while the writer is
            // still inserting the events (it is the busier thread).
            if !sortClaimed.exchange(true, ordering: .acquiringAndReleasing) { references.set(sorted()) }
        }
    }

    public func events(inSlice k: Int) throws(ModelError) -> [EPCISEvent] {
        precondition(k >= 0 && k < sliceCount, "slice \(k) of \(sliceCount)")
        while let claimed = results.claim(upTo: k) { work(claimed) }
        return try results.get(k).get()
    }

    public func sortedReferences() -> ReferenceKeys? {
        if !sortClaimed.exchange(true, ordering: .acquiringAndReleasing) { references.set(sorted()) }
        return references.get()
    }

    /// The references of every event, sorted, or nil when a slice failed. Claims (and
    /// validates) any slice still unclaimed.
    private func sorted() -> ReferenceKeys? {
        while let claimed = results.claim() { work(claimed) }
        return Self.sortedReferences(results, sliceCount: sliceCount)
    }

    /// Waits for every slice: the whole document, or its first error.
    public func document() throws(ModelError) -> EPCISDocument {
        var all: [EPCISEvent] = []
        all.reserveCapacity(eventCount)
        for k in 0..<sliceCount { all += try events(inSlice: k) }
        return EPCISDocument(kind: kind, context: context, events: all)
    }

    private static func sortedReferences(_ results: SliceResults, sliceCount: Int) -> ReferenceKeys? {
        var slices: [[EPCISEvent]] = []
        slices.reserveCapacity(sliceCount)
        for k in 0..<sliceCount {
            guard case .success(let events) = results.get(k) else { return nil }
            slices.append(events)
        }
        var count = 0, bytes = 0
        for events in slices {
            for event in events {
                count += event.uims.count
                for reference in event.uims { bytes += reference.uim.utf8.count }
            }
        }
        var keys = ReferenceKeys(expectedCount: count, expectedBytes: bytes)
        var index: Int64 = 0
        for events in slices {
            for event in events {
                for reference in event.uims { keys.add(uim: reference.uim, number: index, role: reference.role.rawValue) }
                index += 1
            }
        }
        keys.sort()
        return keys
    }
}

/// Builders for the slices of one document: a slice takes one (or gets a new one when all
/// are in use) and puts it back when done, so there are as many as slices ever ran at once.
private final class BuilderPool: @unchecked Sendable {
    // @unchecked Sendable: `free` is only touched between wait() and signal() of `lock`.
    private let lock = DispatchSemaphore(value: 1)
    private var free: [PrehashBuilder] = []
    private let context: HashContext

    init(context: HashContext) { self.context = context }

    func take() -> PrehashBuilder {
        lock.wait()
        let builder = free.popLast()
        lock.signal()
        return builder ?? PrehashBuilder(context: context)
    }

    func put(_ builder: PrehashBuilder) {
        lock.wait()
        free.append(builder)
        lock.signal()
    }
}

/// One result per slice, each written once by the slice's validation and read (any number
/// of times, from any thread) after it; and the claim counter.
private final class SliceResults: Sendable {
    private let slots: [OnceValue<Result<[EPCISEvent], ModelError>>]
    /// The lowest failed slice so far, or Int.max.
    private let failure = Atomic<Int>(.max)
    /// The next slice nobody has claimed.
    private let next = Atomic<Int>(0)

    init(count: Int) {
        slots = (0..<count).map { _ in OnceValue() }
    }

    /// Claims the next unclaimed slice for validation, or nil when all are claimed.
    func claim() -> Int? {
        let k = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return k < slots.count ? k : nil
    }

    /// Claims the next unclaimed slice if it is `limit` or before it, else nil.
    func claim(upTo limit: Int) -> Int? {
        var k = next.load(ordering: .relaxed)
        while k <= limit && k < slots.count {
            let (exchanged, original) = next.compareExchange(expected: k, desired: k + 1, ordering: .relaxed)
            if exchanged { return k }
            k = original
        }
        return nil
    }

    var firstFailure: Int? {
        let k = failure.load(ordering: .acquiring)
        return k == .max ? nil : k
    }

    func set(_ index: Int, _ result: Result<[EPCISEvent], ModelError>) {
        if case .failure = result { failure.min(index, ordering: .releasing) }
        slots[index].set(result)
    }

    func get(_ index: Int) -> Result<[EPCISEvent], ModelError> { slots[index].get() }
}
