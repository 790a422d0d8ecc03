import Testing
@testable import Store

/// The block encoder writes through a pointer into a reused buffer; this is the plain
/// version it replaced (appends to an array), kept as the definition of the bytes.
struct ReferenceBlockEncoder {
    private var data: [UInt8] = []
    private var first: [UInt8] = []
    private var last: [UInt8] = []
    private var lastEvent: Int64 = 0
    private var lastRole: UInt8 = 0
    private var count = 0

    mutating func add(uim: [UInt8], eventID: Int64, role: UInt8) -> PostingIndex.Block? {
        var shared = 0
        if count > 0 { while shared < min(uim.count, last.count) && uim[shared] == last[shared] { shared += 1 } }
        let sameUIM = count > 0 && shared == uim.count && shared == last.count
        if sameUIM && eventID == lastEvent && role == lastRole { return nil }
        var closed: PostingIndex.Block?
        if count > 0 && data.count >= PostingIndex.blockBytes && !sameUIM { closed = finish() }
        if count == 0 {
            shared = 0
            data = [PostingIndex.formatByte]
            first = uim
        }
        Self.appendVarint(UInt64(shared), to: &data)
        Self.appendVarint(UInt64(uim.count - shared), to: &data)
        data.append(contentsOf: uim[shared...])
        Self.appendVarint(UInt64(bitPattern: eventID), to: &data)
        data.append(role)
        last = uim
        lastEvent = eventID
        lastRole = role
        count += 1
        return closed
    }

    mutating func finish() -> PostingIndex.Block? {
        guard count > 0 else { return nil }
        let block = PostingIndex.Block(firstUIM: first, count: count, data: data)
        count = 0
        return block
    }

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }
}

@Suite struct BlockEncoderTests {
    /// Streams of postings in key order (UIMs sharing long prefixes, prefixes of each other,
    /// empty, longer than a block; the same UIM with several events and roles; the same
    /// posting twice; event IDs of every varint length and negative ones) give the same
    /// blocks, byte for byte, as the plain encoder.
    @Test func writesTheSameBlocksAsThePlainEncoder() {
        var state: UInt64 = 0x0123_4567_89AB_CDEF
        func next(_ n: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(n))
        }
        let ids: [Int64] = [0, 1, 127, 128, 16_383, 16_384, 1 << 35, Int64.max, -1, Int64.min]
        var blocksCompared = 0
        for round in 0..<60 {
            var uims: [[UInt8]] = []
            for _ in 0..<(50 + next(400)) {
                var uim = Array("https://id.gs1.org/01/0487000100004\(next(3))/21/".utf8).prefix(next(45))
                uim += (0..<next(round % 7 == 0 ? 3000 : 12)).map { _ in UInt8(0x20 + next(0x60)) }
                uims.append(Array(uim))
            }
            uims.sort { $0.lexicographicallyPrecedes($1) }
            var postings: [(uim: [UInt8], eventID: Int64, role: UInt8)] = []
            for uim in uims {
                var events = (0..<(1 + next(3))).map { _ in next(3) == 0 ? ids[next(ids.count)] : Int64(next(1_000_000)) }
                events.sort()
                for event in events {
                    for role in UInt8(1)...UInt8(PostingIndex.roles.count) where next(3) == 0 || role == 3 {
                        postings.append((uim, event, role))
                        if next(10) == 0 { postings.append((uim, event, role)) }  // the same posting again: dropped
                    }
                }
            }
            var fast = PostingIndex.BlockEncoder()
            var plain = ReferenceBlockEncoder()
            var fastBlocks: [PostingIndex.Block] = []
            var plainBlocks: [PostingIndex.Block] = []
            for posting in postings {
                if let b = posting.uim.withUnsafeBufferPointer({ fast.add(uim: $0, eventID: posting.eventID, role: posting.role) }) { fastBlocks.append(b) }
                if let b = plain.add(uim: posting.uim, eventID: posting.eventID, role: posting.role) { plainBlocks.append(b) }
            }
            if let b = fast.finish() { fastBlocks.append(b) }
            if let b = plain.finish() { plainBlocks.append(b) }
            #expect(fastBlocks.count == plainBlocks.count, "round \(round)")
            for (x, y) in zip(fastBlocks, plainBlocks) {
                #expect(x.data == y.data && x.firstUIM == y.firstUIM && x.count == y.count, "round \(round)")
                blocksCompared += 1
            }
        }
        #expect(blocksCompared > 100, "long streams close many blocks")
    }
}
