import Core
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
        func start(_ index: Int) -> OnceValue<Result<Parsed, any Error>> {
            let slot = OnceValue<Result<Parsed, any Error>>()
            let input = documents[index]
            queue.async { slot.set(Result { try parse(index, input) }) }
            return slot
        }
        var next = start(0)
        for index in documents.indices {
            let current = next
            if index + 1 < documents.count { next = start(index + 1) }
            let parsed = try current.get().get()
            try store(index, parsed, documents[index])
            // A stored document's events (hundreds of thousands of strings and arrays) are
            // freed on another thread: freeing them took 5% of the writer's time.
            DispatchQueue.global().async { withExtendedLifetime(current) {} }
        }
    }
}
