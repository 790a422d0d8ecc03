import Foundation

/// Overlaps parsing and storing: while the single writer stores document *n*, another
/// thread parses document *n + 1*. Order is kept; the first error stops the pipeline.
///
/// The store stays single-writer (DESIGN §12); only the CPU-bound parse/validate/hash work
/// moves to other threads. With `EPCISDocumentParser.begin` as `parse`, the parse stage
/// reads the JSON and starts the validation on every core, and the writer stores each
/// document's slices as they are done (`EventSlices`).
public enum CapturePipeline {
    /// Parses each of `documents` with `parse` on a background queue, one ahead, and hands
    /// the results to `store` in order on the calling thread.
    public static func run<Input: Sendable, Parsed: Sendable>(
        documents: [Input],
        parse: @escaping @Sendable (Int, Input) throws -> Parsed,
        store: (Int, Parsed, Input) throws -> Void
    ) throws {
        guard !documents.isEmpty else { return }
        let queue = DispatchQueue(label: "fedtrace.capture.parse")
        func start(_ index: Int) -> ParseSlot<Parsed> {
            let slot = ParseSlot<Parsed>()
            let input = documents[index]
            queue.async { slot.fill(Result { try parse(index, input) }) }
            return slot
        }
        var next = start(0)
        for index in documents.indices {
            let current = next
            if index + 1 < documents.count { next = start(index + 1) }
            let parsed = try current.wait().get()
            try store(index, parsed, documents[index])
        }
    }
}

/// A one-shot result handed from the parsing queue to the storing thread.
final class ParseSlot<Value: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: `result` is written once before `semaphore` is signalled and read
    // only after waiting on it, so the semaphore orders every access.
    private let semaphore = DispatchSemaphore(value: 0)
    private var result: Result<Value, any Error>?

    func fill(_ value: Result<Value, any Error>) {
        result = value
        semaphore.signal()
    }

    func wait() -> Result<Value, any Error> {
        semaphore.wait()
        return result!
    }
}
