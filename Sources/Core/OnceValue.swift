import Dispatch

/// A value handed from one thread to others: set once, then read any number of times;
/// a read before the set waits for it.
///
/// `@unchecked Sendable`: `value` is written once, before `ready` is signalled, and read only
/// after waiting on `ready`; each reader signals again for the next.
public final class OnceValue<Value: Sendable>: @unchecked Sendable {
    private let ready = DispatchSemaphore(value: 0)
    private var value: Value?

    public init() {}

    /// Sets the value; call exactly once.
    public func set(_ value: Value) {
        self.value = value
        ready.signal()
    }

    /// The value, once set.
    public func get() -> Value {
        ready.wait()
        defer { ready.signal() }
        return value!
    }
}
