import Testing
@testable import Core

/// A seeded generator (SplitMix64) so a failing case can be reproduced.
private struct Draws: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct LZTests {
    static let dictionary = LZ.Dictionary(Array(#"{"type":"ObjectEvent","epcList":["https://id.gs1.org/01/"],"action":"ADD"}"#.utf8))

    /// `input` coded by `encode` decodes to itself; so does `compress`'s block, which is
    /// shorter, when there is one.
    private func roundTrip(_ input: [UInt8], _ dictionary: LZ.Dictionary, sourceLocation: SourceLocation = #_sourceLocation) {
        let encoded = input.withUnsafeBufferPointer { LZ.encode($0, dictionary: dictionary) }
        #expect(encoded.withUnsafeBufferPointer { LZ.decompress($0, count: input.count, dictionary: dictionary) } == input,
                "\(input.count) bytes", sourceLocation: sourceLocation)
        guard let block = input.withUnsafeBufferPointer({ LZ.compress($0, dictionary: dictionary) }) else {
            #expect(encoded.count >= input.count, "compress gave nothing though encode was shorter", sourceLocation: sourceLocation)
            return
        }
        #expect(block.count < input.count, sourceLocation: sourceLocation)
        let back = block.withUnsafeBufferPointer { LZ.decompress($0, count: input.count, dictionary: dictionary) }
        #expect(back == input, "\(input.count) bytes", sourceLocation: sourceLocation)
    }

    /// Text made of a few words, so it has matches near and far, overlapping runs included.
    private func text(_ count: Int, _ draws: inout Draws) -> [UInt8] {
        let words = ["https://id.gs1.org/01/", "\"epcList\":[", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ADD", "x", "0123456789", ","]
        var out: [UInt8] = []
        while out.count < count {
            if Int.random(in: 0..<4, using: &draws) == 0 {
                out.append(UInt8.random(in: 0...255, using: &draws))
            } else {
                out += Array(words[Int.random(in: 0..<words.count, using: &draws)].utf8)
            }
        }
        return Array(out.prefix(count))
    }

    @Test func blocksDecodeToTheirInputWithAndWithoutADictionary() {
        var draws = Draws(state: 42)
        // Up to beyond the 64 KiB window, where matches can no longer reach back to the start.
        for count in [0, 1, 4, 5, 8, 15, 16, 19, 20, 100, 270, 1_000, 4_096, 70_000, 200_000] {
            for dictionary in [LZ.Dictionary.none, Self.dictionary] {
                roundTrip(text(count, &draws), dictionary)
                roundTrip([UInt8](repeating: 7, count: count), dictionary)
            }
        }
    }

    /// `encode` codes any input, however short or incompressible, as a block that decodes.
    @Test func encodeCodesAnyInput() {
        var draws = Draws(state: 9)
        for count in [0, 1, 2, 3, 4, 5, 17, 300] {
            let input = (0..<count).map { _ in UInt8.random(in: 0...255, using: &draws) }
            for dictionary in [LZ.Dictionary.none, Self.dictionary] {
                let block = input.withUnsafeBufferPointer { LZ.encode($0, dictionary: dictionary) }
                #expect(block.withUnsafeBufferPointer { LZ.decompress($0, count: count, dictionary: dictionary) } == input)
            }
        }
    }

    @Test func repetitiveInputShrinksAndRandomInputIsNotCoded() {
        let repetitive = [UInt8](repeating: 0x61, count: 10_000)
        let block = repetitive.withUnsafeBufferPointer { LZ.compress($0, dictionary: .none) }
        #expect((block?.count ?? .max) < 100)
        var draws = Draws(state: 1)
        let noise = (0..<1_000).map { _ in UInt8.random(in: 0...255, using: &draws) }
        #expect(noise.withUnsafeBufferPointer { LZ.compress($0, dictionary: .none) } == nil)
        #expect([UInt8]().withUnsafeBufferPointer { LZ.compress($0, dictionary: .none) } == nil)
    }

    @Test func theDictionaryIsUsed() {
        let input = Array(#"{"type":"ObjectEvent","epcList":["https://id.gs1.org/01/0487/21/A"],"action":"ADD"}"#.utf8)
        let plain = input.withUnsafeBufferPointer { LZ.compress($0, dictionary: .none) }
        let withDictionary = input.withUnsafeBufferPointer { LZ.compress($0, dictionary: Self.dictionary) }
        #expect(plain == nil)
        #expect((withDictionary?.count ?? .max) < input.count / 3)
        roundTrip(input, Self.dictionary)
    }

    /// Hand-written blocks: what each rule of the format accepts and refuses.
    @Test func theDecoderChecksEveryLengthAndOffset() {
        let d = LZ.Dictionary(Array("abcdefgh".utf8))
        func decode(_ block: [UInt8], _ count: Int) -> String? {
            block.withUnsafeBufferPointer { LZ.decompress($0, count: count, dictionary: d) }.map { String(decoding: $0, as: UTF8.self) }
        }
        // Literals only.
        #expect(decode([0x30] + Array("xyz".utf8), 3) == "xyz")
        #expect(decode([0x00], 0) == "")
        // A match in the dictionary that runs on into the output: "gh" then "gh" again.
        #expect(decode([0x00, 2, 0, 0x00], 4) == "ghgh")
        // An overlapping match repeats: "ab" then 6 more from offset 2.
        #expect(decode([0x22] + Array("ab".utf8) + [2, 0, 0x00], 8) == "abababab")
        // Long literal and match lengths (15 + 255 + 3 literals; 19 + 1 match).
        let long = [UInt8](repeating: 0x41, count: 273)
        #expect(decode([0xF0, 255, 3] + long, 273) == String(repeating: "A", count: 273))
        #expect(decode([0x1F, 0x41, 1, 0, 1, 0x00], 21) == String(repeating: "A", count: 21))
        // Refused: wrong count, truncations, offset 0, offset beyond the stream, a last
        // sequence with a match length, a match longer than the output, an empty block.
        #expect(decode([0x30] + Array("xyz".utf8), 2) == nil)
        #expect(decode([0x30] + Array("xyz".utf8), 4) == nil)
        #expect(decode([0x30] + Array("xy".utf8), 3) == nil)
        #expect(decode([0x22] + Array("ab".utf8) + [0, 0, 0x00], 8) == nil)
        #expect(decode([0x22] + Array("ab".utf8) + [11, 0, 0x00], 8) == nil)
        #expect(decode([0x22] + Array("ab".utf8) + [10, 0, 0x00], 8) == "ababcdef")
        #expect(decode([0x31] + Array("xyz".utf8), 3) == nil)
        #expect(decode([0x22] + Array("ab".utf8) + [2, 0, 0x00], 7) == nil)
        #expect(decode([0x22] + Array("ab".utf8) + [2], 8) == nil)
        #expect(decode([], 0) == nil)
        #expect(decode([0xF0, 255], 300) == nil)
        #expect(decode([0x0F, 1, 0, 255, 255, 255, 255], 20) == nil)
        // A count no block of that size can reach is refused before any allocation.
        #expect(decode([0x00], Int.max) == nil)
        #expect(decode([0x00], 1 << 40) == nil)
    }

    /// The bound is tight enough to be safe and loose enough for the longest runs: a block
    /// of one repeated byte decodes to its count, which stays under the bound.
    @Test func theLargestExpansionIsWithinTheBound() {
        let run = [UInt8](repeating: 0x61, count: 1 << 20)
        let block = run.withUnsafeBufferPointer { LZ.compress($0, dictionary: .none) }!
        #expect(run.count <= LZ.maximumDecodedCount(blockCount: block.count))
        #expect(block.withUnsafeBufferPointer { LZ.decompress($0, count: run.count, dictionary: .none) } == run)
    }

    /// Every strict prefix of a block, and every block with one byte changed, is refused or
    /// decodes to exactly the expected number of bytes; none crashes.
    @Test func damagedBlocksAreRefusedOrDecodeToTheirLength() {
        var draws = Draws(state: 7)
        let input = text(600, &draws)
        let block = input.withUnsafeBufferPointer { LZ.compress($0, dictionary: Self.dictionary) }!
        for cut in 0..<block.count {
            let prefix = Array(block.prefix(cut))
            #expect(prefix.withUnsafeBufferPointer { LZ.decompress($0, count: input.count, dictionary: Self.dictionary) } == nil)
        }
        for position in block.indices {
            for value: UInt8 in [0, 1, 15, 0xF0, 0xFF, block[position] ^ 0x10] {
                var damaged = block
                damaged[position] = value
                if let out = damaged.withUnsafeBufferPointer({ LZ.decompress($0, count: input.count, dictionary: Self.dictionary) }) {
                    #expect(out.count == input.count)
                }
            }
        }
    }
}
