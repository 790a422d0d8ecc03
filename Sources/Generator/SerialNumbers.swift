/// A keyed bijection on `0 ..< bound`, so that counters become random-looking serial
/// numbers that never repeat within a run (a random draw would collide now and then at
/// millions of packs) and differ from seed to seed.
///
/// It is an invertible mix on `bits`-bit words (add, xor-shift, multiply by odd constants),
/// restricted to `0 ..< bound` by cycle walking. Not cryptographic.
struct KeyedPermutation: Sendable {
    let bits: Int
    let bound: UInt64
    private let mask: UInt64
    private let addend: UInt64
    private let multiplier1: UInt64
    private let multiplier2: UInt64
    private let xorKey: UInt64

    init(bound: UInt64, key: UInt64) {
        precondition(bound >= 2, "permutation domain too small")
        var bits = 1
        while bits < 64, (UInt64(1) << UInt64(bits)) < bound { bits += 1 }
        self.bits = max(bits, 8)
        self.bound = bound
        self.mask = self.bits == 64 ? .max : (UInt64(1) << UInt64(self.bits)) - 1
        var rng = SplitMix64(seed: key)
        addend = rng.next()
        multiplier1 = rng.next() | 1
        multiplier2 = rng.next() | 1
        xorKey = rng.next()
    }

    /// The image of `value` (which must be below `bound`).
    func permute(_ value: UInt64) -> UInt64 {
        precondition(value < bound, "value outside the permutation domain")
        var x = value
        repeat { x = mix(x) } while x >= bound
        return x
    }

    private func mix(_ value: UInt64) -> UInt64 {
        let half = UInt64(bits / 2)
        var x = (value &+ addend) & mask
        x ^= x >> half
        x = (x &* multiplier1) & mask
        x ^= x >> (half + 1)
        x = (x &* multiplier2) & mask
        x ^= x >> half
        return (x ^ xorKey) & mask
    }
}

/// Serial numbers for the UIM levels: alphanumeric for unit packets and cartons (as the EU
/// rules for unit-level UIs expect), numeric serial references for SSCCs.
struct SerialNumbers: Sendable {
    /// Length of unit-packet and carton serials: `[0-9A-Z]{10}`.
    static let alphanumericLength = 10
    /// The number of distinct 10-character serials the permutation draws from (2^51 < 36^10).
    static let alphanumericBound: UInt64 = 1 << 51

    private let packs: KeyedPermutation
    private let cartons: KeyedPermutation
    private let cases: KeyedPermutation
    private let pallets: KeyedPermutation

    /// Case serial references live in 0 ..< 900 000 000; pallets in 900 000 000 ..< 999 999 999.
    static let caseBound: UInt64 = 900_000_000
    static let palletBase: UInt64 = 900_000_000
    static let palletBound: UInt64 = 99_999_999

    init(seed: UInt64) {
        var keys = SplitMix64(seed: seed ^ 0x5345_5249_414C_5321)
        packs = KeyedPermutation(bound: Self.alphanumericBound, key: keys.next())
        cartons = KeyedPermutation(bound: Self.alphanumericBound, key: keys.next())
        cases = KeyedPermutation(bound: Self.caseBound, key: keys.next())
        pallets = KeyedPermutation(bound: Self.palletBound, key: keys.next())
    }

    func packValue(_ index: Int) -> UInt64 { packs.permute(UInt64(index)) }
    func cartonValue(_ index: Int) -> UInt64 { cartons.permute(UInt64(index)) }
    /// The 9-digit SSCC serial reference of master case `index`.
    func caseReference(_ index: Int) -> Int { Int(cases.permute(UInt64(index))) }
    /// The 9-digit SSCC serial reference of pallet `index` (always starting with 9).
    func palletReference(_ index: Int) -> Int { Int(Self.palletBase + pallets.permute(UInt64(index))) }

    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    /// `value` as exactly ten base-36 characters.
    static func alphanumeric(_ value: UInt64) -> String {
        var bytes = [UInt8](repeating: 0, count: alphanumericLength)
        var rest = value
        for position in stride(from: alphanumericLength - 1, through: 0, by: -1) {
            bytes[position] = alphabet[Int(rest % 36)]
            rest /= 36
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
