import Dispatch
import Testing
import Core

@Suite struct OnceValueTests {
    /// Readers that come before the value wait for it; every reader, before or after, and
    /// the same reader again, gets the one value set.
    @Test func readersBeforeAndAfterTheSetAllGetTheValue() {
        let value = OnceValue<[Int]>()
        let early = DispatchGroup()
        let results = Results()
        for i in 0..<8 {
            early.enter()
            DispatchQueue.global().async {
                results.record(i, value.get())
                early.leave()
            }
        }
        // No early reader can have returned: nothing is set yet.
        #expect(early.wait(timeout: .now() + .milliseconds(100)) == .timedOut)
        value.set([1, 2, 3])
        early.wait()
        #expect(results.all == Array(repeating: [1, 2, 3], count: 8))
        #expect(value.get() == [1, 2, 3])
        #expect(value.get() == [1, 2, 3])
    }

    @Test func anOptionalValueCanBeNil() {
        let value = OnceValue<Int?>()
        value.set(nil)
        #expect(value.get() == nil)
    }
}

private final class Results: @unchecked Sendable {
    // @unchecked Sendable: `values` is only touched under `lock`.
    private let lock = DispatchSemaphore(value: 1)
    private var values = [[Int]](repeating: [], count: 8)

    func record(_ index: Int, _ value: [Int]) {
        lock.wait()
        values[index] = value
        lock.signal()
    }

    var all: [[Int]] {
        lock.wait()
        defer { lock.signal() }
        return values
    }
}
