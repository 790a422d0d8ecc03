/// Normalises any URI carrying a GS1 key (EPC URI, EPC class URI, EPC ID pattern URI,
/// GS1 Digital Link URI) to the constrained canonical GS1 Digital Link URI used by the
/// GS1 CBV 2.0 event hash ID.
///
/// The result must equal `normaliser(uri)` of GS1 Germany's reference implementation
/// (PyPI `epcis-event-hash-generator` 1.9.3, `dl_normaliser.py`) for every input, quirks
/// included, because it feeds the event hash. This is an independent re-implementation
/// that matches by hand, without `Regex`, because it runs on every value of every event.
/// `Tests/ModelTests/Vectors/digital-link-vectors.tsv` holds the reference's answers for a
/// few thousand inputs and the tests check every one.
///
/// Semantics of the reference that this code reproduces, and how (Python `re`, `str`):
///
/// * Strings are sequences of Unicode scalars (Python code points); every fixed offset such
///   as `uri[32:]` counts scalars, so the input is decoded to scalars first.
/// * `\d` in a `str` pattern is any Unicode decimal digit (category Nd), not just 0–9, and
///   `int()` accepts those digits; so do `isDigit` and `digitValue`. Bracketed ranges such
///   as `[0-9]` stay ASCII.
/// * `$` matches at the end *or just before a final "\n"* (`atEnd`). Slices such as
///   `uri[32:]` then keep that "\n" in the output.
/// * `re.match` anchors only at the start: a pattern without `$` accepts trailing text.
/// * `.` in `id.gs1.org` of the later patterns is unescaped, so it is any scalar but "\n".
/// * `str.replace` replaces all non-overlapping occurrences, left to right.
/// * Where the reference raises (`int("\n")` in `check_digit` when the final "\n" lands in
///   a key: sscc, gsrn, gsrnp, gsin), this returns `nil`.
public enum DigitalLinkNormalizer {
    /// The canonical GS1 Digital Link URI for `uri`, or `nil` where the reference returns
    /// `None` (or raises).
    public static func normalize(_ uri: String) -> String? {
        var uri = uri
        if uri.withUTF8(isCanonicalAsIs) { return uri }
        return normalizeWithoutShortcut(uri)
    }

    /// `normalize` without the `isCanonicalAsIs` shortcut (the tests' oracle for it).
    static func normalizeWithoutShortcut(_ uri: String) -> String? {
        var uri = uri
        if let result = uri.utf8.withContiguousStorageIfAvailable({ normalize(utf8: $0) }) {
            return result
        }
        uri.makeContiguousUTF8()
        return uri.utf8.withContiguousStorageIfAvailable({ normalize(utf8: $0) }) ?? nil
    }

    /// The GS1 check digit (GS1 General Specifications 7.9.1) for a key given without its
    /// check digit: weights 3, 1, 3, … from the right, then the distance up to the next
    /// multiple of ten. Digits may be any Unicode decimal digits (as Python's `int`
    /// accepts); `nil` if any character is not one (the reference raises `ValueError`).
    public static func checkDigit(_ digits: some StringProtocol) -> Int? {
        let scalars = Array(digits.unicodeScalars.lazy.map(\.value))
        return scalars.withUnsafeBufferPointer { checkDigit($0[...]) }
    }

    /// Whether `bytes` has one of the shapes the reference returns unchanged that make up
    /// nearly every value of tracking-and-tracing data, so `normalize` can answer without
    /// running the patterns: `https://id.gs1.org/` followed by
    ///
    /// * `01/` + 14 ASCII digits, optionally `/21/` + 1 to 20 ASCII letters or digits (a
    ///   GTIN, or an SGTIN: a unit pack's UIM);
    /// * `00/` + 18 ASCII digits (an SSCC: a pallet or logistic unit);
    /// * `414/` + 13 ASCII digits (a GLN: a read point or business location);
    ///
    /// and nothing after (no final "\n"). Why each is a fixed point of `digitalLink`: it
    /// passes `dlSyntax` (key `01`, `00` or `414` then 4 digits and no '/'); it has no query
    /// and no short name (no '/' + 3–5 lower-case letters + '/'); it is on the canonical host
    /// with a canonical key, so it is not rebased; a GTIN has 14 digits, so no padding; there
    /// is no `/22/` (CPV) and no `/10/` (lot); and `finalSyntax` accepts it (`01/` + 14 digits
    /// at the end or + `/21/` + up to 20 `dlChar`, which holds letters and digits; `00/` + 18
    /// digits; `414/` + 13 digits). Being ASCII without blanks, it is also left alone by
    /// `str.strip()`, the CBV vocabulary rewrite (not `urn:`) and the number rewrite.
    /// `DigitalLinkNormalizerTests` checks the claim against `normalizeWithoutShortcut`.
    public static func isCanonicalAsIs(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = bytes.count
        guard n >= 36 else { return false }
        // Eight bytes at a time (this runs for nearly every value of every event, twice).
        let base = UnsafeRawPointer(bytes.baseAddress!)
        @inline(__always) func word(_ at: Int) -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        // "https://id.gs1.org/": bytes 0–7, 8–15 and 11–18 as little-endian words.
        guard word(0) == 0x2F2F_3A73_7074_7468, word(8) == 0x6F2E_3173_672E_6469, word(11) == 0x2F67_726F_2E31_7367 else { return false }
        @inline(__always) func digits(_ from: Int, _ count: Int) -> Bool {
            // All of a word's bytes are ASCII digits when none has its high bit set, none is
            // below '0' (subtracting 0x30 from each sets a high bit, borrows only after one
            // that does) and none is above '9' (adding 0x46 sets a high bit, no carries as
            // every byte is below 0x80).
            @inline(__always) func allDigits(_ w: UInt64) -> Bool {
                let highs: UInt64 = 0x8080_8080_8080_8080
                return (w | (w &- 0x3030_3030_3030_3030) | (w &+ 0x4646_4646_4646_4646)) & highs == 0
            }
            var i = from
            while i + 8 <= from + count {
                if !allDigits(word(i)) { return false }
                i += 8
            }
            while i < from + count {
                if bytes[i] &- 0x30 >= 10 { return false }
                i += 1
            }
            return true
        }
        switch (bytes[19], bytes[20], bytes[21]) {
        case (0x30, 0x31, 0x2F):  // "01/"
            guard digits(22, 14) else { return false }
            if n == 36 { return true }
            guard n >= 41, n <= 60, bytes[36] == 0x2F, bytes[37] == 0x32, bytes[38] == 0x31, bytes[39] == 0x2F else { return false }
            for i in 40..<n {
                let c = bytes[i]
                guard c &- 0x30 < 10 || (c | 0x20) &- 0x61 < 26 else { return false }
            }
            return true
        case (0x30, 0x30, 0x2F):  // "00/"
            return n == 40 && digits(22, 18)
        case (0x34, 0x31, 0x34):  // "414"
            return n == 36 && bytes[22] == 0x2F && digits(23, 13)
        default:
            return false
        }
    }

    // MARK: - Entry

    /// Cheap rejection on the raw UTF-8: the reference needs a '.' somewhere, and every
    /// pattern starts with `urn:epc:` or `http`.
    private static func normalize(utf8 bytes: UnsafeBufferPointer<UInt8>) -> String? {
        let n = bytes.count
        guard n >= 12 else { return nil }  // shortest possible match is longer
        let b0 = bytes[0]
        if b0 == 0x75 {  // u
            guard bytes[1] == 0x72, bytes[2] == 0x6E, bytes[3] == 0x3A, bytes[4] == 0x65,
                  bytes[5] == 0x70, bytes[6] == 0x63, bytes[7] == 0x3A else { return nil }  // "urn:epc:"
        } else if b0 == 0x68 {  // h
            guard bytes[1] == 0x74, bytes[2] == 0x74, bytes[3] == 0x70 else { return nil }  // "http"
        } else {
            return nil
        }
        // A '.' byte in UTF-8 is always the scalar '.'.
        guard bytes.contains(0x2E) else { return nil }

        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 2 * n + 8) { storage in
            // Decode to scalars into the first n slots; the rest is scratch for keys.
            var count = 0
            var ascii = true
            for byte in bytes {
                if byte >= 0x80 { ascii = false; break }
                storage[count] = UInt32(byte)
                count += 1
            }
            if !ascii {
                count = 0
                var iterator = bytes.makeIterator()
                var decoder = UTF8()
                decode: while true {
                    switch decoder.decode(&iterator) {
                    case .scalarValue(let scalar): storage[count] = scalar.value; count += 1
                    case .emptyInput: break decode
                    case .error: storage[count] = 0xFFFD; count += 1  // cannot occur for String
                    }
                }
            }
            let s = UnsafeBufferPointer(rebasing: storage[0..<count])
            let scratch = UnsafeMutableBufferPointer(rebasing: storage[n...])
            if s[0] == C.u {
                // Output bound: fixed text, each scalar at most once as 4 UTF-8 bytes or a
                // 3-byte escape, and a check digit.
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64 + 4 * n) { buffer in
                    var out = Output(buffer)
                    return epc(s, scratch: scratch, out: &out) ? out.string : nil
                }
            }
            return digitalLink(s)
        }
    }

    // MARK: - Characters

    typealias Buf = UnsafeBufferPointer<UInt32>

    /// Scalar values of the ASCII characters used below.
    enum C {
        static let nl: UInt32 = 0x0A, hash: UInt32 = 0x23, percent: UInt32 = 0x25
        static let star: UInt32 = 0x2A, dot: UInt32 = 0x2E, slash: UInt32 = 0x2F
        static let colon: UInt32 = 0x3A, question: UInt32 = 0x3F, u: UInt32 = 0x75
        static let zero: UInt32 = 0x30, nine: UInt32 = 0x39
    }

    /// A set of ASCII characters as a 128-bit mask.
    struct CharClass {
        let low: UInt64, high: UInt64
        @inline(__always) func contains(_ c: UInt32) -> Bool {
            if c < 64 { return (low >> UInt64(c)) & 1 != 0 }
            if c < 128 { return (high >> UInt64(c - 64)) & 1 != 0 }
            return false
        }
    }

    /// `[!\')(*+,.0-9:;=A-Za-z_-]`, the unescaped characters of EPC URI serials.
    static let epcChar = CharClass(low: 0x2fff_7f82_0000_0000, high: 0x07ff_fffe_87ff_fffe)
    /// `[0-9A-Z-]`, the unescaped characters of a CPI component reference.
    static let cpiChar = CharClass(low: 0x03ff_2000_0000_0000, high: 0x0000_0000_07ff_fffe)
    /// `[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]` of the DL syntax checks.
    static let dlChar = CharClass(low: 0xfbff_6084_0000_0000, high: 0x07ff_fffe_87ff_fffe)
    /// `[\x23\x2D\x2F\x30-\x39\x41-\x5A]` of the CPI (8010) DL syntax check.
    static let cpiDLChar = CharClass(low: 0x03ff_a008_0000_0000, high: 0x0000_0000_07ff_fffe)
    /// `[A-Za-z_-]` of the reference's `/[A-Za-z_-]{10}$` alternative.
    static let letterChar = CharClass(low: 0x0000_2000_0000_0000, high: 0x07ff_fffe_87ff_fffe)

    @inline(__always) static func isASCIIDigit(_ c: UInt32) -> Bool { c &- C.zero < 10 }

    /// Python `re` `\d` on `str`: a Unicode decimal digit (general category Nd).
    @inline(__always) static func isDigit(_ c: UInt32) -> Bool {
        if c < 0x80 { return c &- C.zero < 10 }
        guard let scalar = Unicode.Scalar(c) else { return false }
        return scalar.properties.generalCategory == .decimalNumber
    }

    /// Python `int(ch)` of one decimal digit, or nil where `int` raises.
    static func digitValue(_ c: UInt32) -> Int? {
        if c < 0x80 { return isASCIIDigit(c) ? Int(c - C.zero) : nil }
        guard isDigit(c), let value = Unicode.Scalar(c)?.properties.numericValue else { return nil }
        return Int(value)
    }

    /// `$` of Python `re`: end of string, or the position of a final "\n".
    @inline(__always) static func atEnd(_ s: Buf, _ i: Int) -> Bool {
        i == s.count || (i == s.count - 1 && s[i] == C.nl)
    }

    /// Whether `s` has the ASCII `literal` at `i`.
    @inline(__always) static func has(_ s: Buf, _ i: Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard i >= 0, i + count <= s.count else { return false }
        let p = literal.utf8Start
        for k in 0..<count where s[i + k] != UInt32(p[k]) { return false }
        return true
    }

    /// Whether `count` decimal digits (`\d`) start at `i`.
    @inline(__always) static func digits(_ s: Buf, _ i: Int, _ count: Int) -> Bool {
        guard i + count <= s.count else { return false }
        for k in i..<(i + count) where !isDigit(s[k]) { return false }
        return true
    }

    /// Number of consecutive `\d` from `i`, at most `limit`.
    @inline(__always) static func digitRun(_ s: Buf, _ i: Int, limit: Int) -> Int {
        var k = i
        while k < s.count, k - i < limit, isDigit(s[k]) { k += 1 }
        return k - i
    }

    /// Number of consecutive characters of `cls` from `i`, at most `limit`.
    @inline(__always) static func classRun(_ s: Buf, _ i: Int, _ cls: CharClass, limit: Int) -> Int {
        var k = i
        while k < s.count, k - i < limit, cls.contains(s[k]) { k += 1 }
        return k - i
    }

    @inline(__always) static func isHexLetter(_ c: UInt32) -> Bool {
        (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
    }

    /// Length (3 or 1) of one EPC serial token at `i`, or 0:
    /// `\%2[125-9A-Fa-f]|\%3[0-9A-Fa-f]|\%4[1-9A-Fa-f]|\%5[0-9AaFf]|\%6[1-9A-Fa-f]|\%7[0-9Aa]|[!\')(*+,.0-9:;=A-Za-z_-]`.
    /// '%' is not in the single-character class, so the tokenisation is unambiguous.
    @inline(__always) static func epcToken(_ s: Buf, _ i: Int) -> Int {
        let c = s[i]
        guard c == C.percent else { return epcChar.contains(c) ? 1 : 0 }
        guard i + 2 < s.count else { return 0 }
        let d = s[i + 2]
        let ok: Bool
        switch s[i + 1] {
        case 0x32: ok = d == 0x31 || d == 0x32 || (d >= 0x35 && d <= 0x39) || isHexLetter(d)
        case 0x33: ok = isASCIIDigit(d) || isHexLetter(d)
        case 0x34, 0x36: ok = (d >= 0x31 && d <= 0x39) || isHexLetter(d)
        case 0x35: ok = isASCIIDigit(d) || d == 0x41 || d == 0x61 || d == 0x46 || d == 0x66
        case 0x37: ok = isASCIIDigit(d) || d == 0x41 || d == 0x61
        default: ok = false
        }
        return ok ? 3 : 0
    }

    /// Length of one CPI token at `i`, or 0:
    /// `\%2[3dfDF]|\%3[0-9]|\%4[1-9A-Fa-f]|\%5[0-9Aa]|[0-9A-Z-]`.
    @inline(__always) static func cpiToken(_ s: Buf, _ i: Int) -> Int {
        let c = s[i]
        guard c == C.percent else { return cpiChar.contains(c) ? 1 : 0 }
        guard i + 2 < s.count else { return 0 }
        let d = s[i + 2]
        let ok: Bool
        switch s[i + 1] {
        case 0x32: ok = d == 0x33 || d == 0x64 || d == 0x66 || d == 0x44 || d == 0x46
        case 0x33: ok = isASCIIDigit(d)
        case 0x34: ok = (d >= 0x31 && d <= 0x39) || isHexLetter(d)
        case 0x35: ok = isASCIIDigit(d) || d == 0x41 || d == 0x61
        default: ok = false
        }
        return ok ? 3 : 0
    }

    /// `(token){1,maxCount}$` from `i`. Tokens never contain "\n", so greedy matching
    /// followed by the `$` test equals the regex (fewer tokens leave a token, not the end).
    static func tokensToEnd(_ s: Buf, _ i: Int, maxCount: Int, cpi: Bool = false) -> Bool {
        tokenRunEnd(s, i, maxCount: maxCount, cpi: cpi).map { atEnd(s, $0) } ?? false
    }

    /// End of the longest run of 1...maxCount tokens from `i`, or nil if there is none.
    static func tokenRunEnd(_ s: Buf, _ i: Int, maxCount: Int, cpi: Bool = false) -> Int? {
        var k = i, count = 0
        while k < s.count, count < maxCount {
            let length = cpi ? cpiToken(s, k) : epcToken(s, k)
            if length == 0 { break }
            k += length
            count += 1
        }
        return count == 0 ? nil : k
    }

    /// The company-prefix alternation at `i`: `(\d{6}\.\d{T-6})|…|(\d{12}\.\d{T-12})`,
    /// where for `T == 12` the last alternative is `(\d{12}\.)`, or `(\d{12}\.\.)` when
    /// `doubleDot` (grai, gdti, idpat sgcn). The alternative is fixed by the position of the
    /// first non-digit, so there is nothing to backtrack. Returns (prefix length, end).
    static func companyPrefix(_ s: Buf, _ i: Int, total: Int, doubleDot: Bool = false) -> (length: Int, end: Int)? {
        let length = digitRun(s, i, limit: 13)
        guard length >= 6, length <= 12, i + length < s.count, s[i + length] == C.dot else { return nil }
        var end = i + length + 1
        let rest = total - length
        if rest == 0 {
            if doubleDot {
                guard end < s.count, s[end] == C.dot else { return nil }
                end += 1
            }
            return (length, end)
        }
        guard digits(s, end, rest) else { return nil }
        return (length, end + rest)
    }

    // MARK: - Output

    /// Python slice `s[a:b]` for non-negative bounds, clamped to the string.
    @inline(__always) static func slice(_ s: Buf, _ a: Int, _ b: Int? = nil) -> Buf.SubSequence {
        let upper = min(b ?? s.count, s.count)
        let lower = min(a, upper)
        return s[lower..<upper]
    }

    /// The reference's `check_digit` over scalars; nil where its `int()` raises.
    static func checkDigit(_ key: Buf.SubSequence) -> Int? {
        var sum = 0
        var weight3 = key.count % 2 == 1  // the rightmost digit has weight 3
        for c in key {
            guard let v = digitValue(c) else { return nil }
            sum += weight3 ? 3 * v : v
            weight3.toggle()
        }
        return (10 - sum % 10) % 10
    }

    /// Writes the output string as UTF-8 into a caller-provided buffer.
    struct Output {
        let base: UnsafeMutableBufferPointer<UInt8>
        var count = 0
        init(_ base: UnsafeMutableBufferPointer<UInt8>) { self.base = base }

        @inline(__always) mutating func append(byte: UInt8) {
            base[count] = byte
            count += 1
        }

        mutating func append(_ literal: StaticString) {
            let p = literal.utf8Start
            for k in 0..<literal.utf8CodeUnitCount { append(byte: p[k]) }
        }

        @inline(__always) mutating func append(scalar c: UInt32) {
            if c < 0x80 {
                append(byte: UInt8(c))
            } else if let scalar = Unicode.Scalar(c), let encoded = UTF8.encode(scalar) {
                for byte in encoded { append(byte: byte) }
            }
        }

        mutating func append(_ scalars: Buf.SubSequence) {
            for c in scalars { append(scalar: c) }
        }

        /// The reference's `__web_uri_percent_encoder`: a chain of `str.replace` for
        /// `! ( ) * + , :`. No replacement produces a character a later one replaces, so
        /// mapping each character once is the same.
        mutating func appendPercentEncoded(_ scalars: Buf.SubSequence) {
            for c in scalars {
                switch c {
                case 0x21: append("%21")
                case 0x28: append("%28")
                case 0x29: append("%29")
                case 0x2A: append("%2A")
                case 0x2B: append("%2B")
                case 0x2C: append("%2C")
                case 0x3A: append("%3A")
                default: append(scalar: c)
                }
            }
        }

        mutating func append(digit: Int) { append(byte: UInt8(48 + digit)) }

        var string: String { String(decoding: UnsafeBufferPointer(rebasing: base[0..<count]), as: UTF8.self) }
    }

    typealias Sub = Buf.SubSequence

    /// Writes the key `("0" if leadingZero) + a + b + c` and its check digit to `out`;
    /// false where the reference raises.
    static func appendKey(_ a: Sub, _ b: Sub, _ c: Sub? = nil, leadingZero: Bool = false,
                          scratch: UnsafeMutableBufferPointer<UInt32>, to out: inout Output) -> Bool {
        var count = 0
        if leadingZero { scratch[0] = C.zero; count = 1 }
        for k in a { scratch[count] = k; count += 1 }
        for k in b { scratch[count] = k; count += 1 }
        if let c { for k in c { scratch[count] = k; count += 1 } }
        let key = UnsafeBufferPointer(rebasing: scratch[0..<count])
        guard let check = checkDigit(key[...]) else { return false }
        out.append(key[...])
        out.append(digit: check)
        return true
    }

    /// GTIN `itemref[0:1] + gs1companyprefix + itemref[1:]` with its check digit.
    static func appendGTIN(_ cp: Sub, _ itemRef: Sub, scratch: UnsafeMutableBufferPointer<UInt32>, to out: inout Output) -> Bool {
        let split = min(itemRef.startIndex + 1, itemRef.endIndex)
        return appendKey(itemRef[itemRef.startIndex..<split], cp, itemRef[split...], scratch: scratch, to: &out)
    }

    // MARK: - EPC URIs

    /// All `urn:epc:` patterns of the reference. The literal prefixes are mutually exclusive,
    /// so dispatching on them gives the same result as trying the patterns in order; an
    /// `urn:` string matching none of them cannot match the Digital Link pattern either.
    /// The first '.' of the string (`partition`) is always the one after the company prefix.
    static func epc(_ s: Buf, scratch: UnsafeMutableBufferPointer<UInt32>, out: inout Output) -> Bool {
        let ok: Bool
        if has(s, 0, "urn:epc:id:") {
            ok = epcID(s, scratch: scratch, out: &out)
        } else if has(s, 0, "urn:epc:idpat:") {
            ok = epcPattern(s, scratch: scratch, out: &out)
        } else if has(s, 0, "urn:epc:class:lgtin:") {
            // lgtin: (cp.itemref, 13 digits)\.(token){1,20}$ ; lot = uri[35:]
            guard let (length, end) = companyPrefix(s, 20, total: 13),
                  end < s.count, s[end] == C.dot, tokensToEnd(s, end + 1, maxCount: 20) else { return false }
            let partition = 20 + length
            out.append("https://id.gs1.org/01/")
            guard appendGTIN(slice(s, 20, partition), slice(s, partition + 1, partition + 14 - length),
                            scratch: scratch, to: &out) else { return false }
            out.append("/10/")
            out.appendPercentEncoded(slice(s, 35))
            ok = true
        } else {
            ok = false
        }
        return ok
    }

    /// `urn:epc:id:<scheme>:` URIs.
    static func epcID(_ s: Buf, scratch: UnsafeMutableBufferPointer<UInt32>, out: inout Output) -> Bool {
        let i = 11  // after "urn:epc:id:"
        if has(s, i, "sgtin:") {
            // (cp.itemref){13}\.(token){1,20}$ ; serial = uri[32:]
            guard let (length, end) = companyPrefix(s, 17, total: 13),
                  end < s.count, s[end] == C.dot, tokensToEnd(s, end + 1, maxCount: 20) else { return false }
            let partition = 17 + length
            out.append("https://id.gs1.org/01/")
            guard appendGTIN(slice(s, 17, partition), slice(s, partition + 1, partition + 14 - length),
                            scratch: scratch, to: &out) else { return false }
            out.append("/21/")
            out.appendPercentEncoded(slice(s, 32))
            return true
        }
        if has(s, i, "sscc:") {
            // (cp.serialref){17}$ ; rawSSCC = uri[p+1:p+2] + cp + uri[p+2:] (keeps a final "\n")
            guard let (length, end) = companyPrefix(s, 16, total: 17), atEnd(s, end) else { return false }
            let partition = 16 + length
            out.append("https://id.gs1.org/00/")
            return appendKey(slice(s, partition + 1, partition + 2), slice(s, 16, partition), slice(s, partition + 2),
                             scratch: scratch, to: &out)
        }
        if has(s, i, "sgln:") {
            // (cp.locref){12}\.(token){1,20}$ ; extension = uri[30:]
            guard let (length, end) = companyPrefix(s, 16, total: 12),
                  end < s.count, s[end] == C.dot, tokensToEnd(s, end + 1, maxCount: 20) else { return false }
            let partition = 16 + length
            out.append("https://id.gs1.org/414/")
            guard appendKey(slice(s, 16, partition), slice(s, partition + 1, partition + 13 - length),
                            scratch: scratch, to: &out) else { return false }
            let ext = slice(s, 30)
            if !(ext.count == 1 && ext.first == C.zero) {
                out.append("/254/")
                out.appendPercentEncoded(ext)
            }
            return true
        }
        if has(s, i, "grai:") {
            // (cp.assetref){12} with (\d{12}\.\.) \.(token){1,16}$ ; '0' + cp + assetref ; serial = uri[30:]
            guard let (length, end) = companyPrefix(s, 16, total: 12, doubleDot: true),
                  end < s.count, s[end] == C.dot, tokensToEnd(s, end + 1, maxCount: 16) else { return false }
            let partition = 16 + length
            out.append("https://id.gs1.org/8003/")
            guard appendKey(slice(s, 16, partition), slice(s, partition + 1, partition + 13 - length),
                            leadingZero: true, scratch: scratch, to: &out) else { return false }
            out.appendPercentEncoded(slice(s, 30))
            return true
        }
        if has(s, i, "giai:") || has(s, i, "ginc:") {
            // (\d{L}\.(token){1,30-L})$ ; cp + percent-encoded uri[p+1:]
            let giai = s[i + 2] == 0x61  // "giai:" vs "ginc:"
            let length = digitRun(s, 16, limit: 13)
            guard length >= 6, length <= 12, 16 + length < s.count, s[16 + length] == C.dot,
                  tokensToEnd(s, 17 + length, maxCount: 30 - length) else { return false }
            let partition = 16 + length
            out.append(giai ? "https://id.gs1.org/8004/" : "https://id.gs1.org/401/")
            out.append(slice(s, 16, partition))
            out.appendPercentEncoded(slice(s, partition + 1))
            return true
        }
        for (scheme, start, total, ai) in [("gsrn:", 16, 17, 0), ("gsrnp:", 17, 17, 1), ("gsin:", 16, 16, 2)] as [(StaticString, Int, Int, Int)]
        where has(s, i, scheme) {
            // (cp.ref){total}$ ; key = cp + uri[p+1:] (keeps a final "\n": the reference raises)
            guard let (length, end) = companyPrefix(s, start, total: total), atEnd(s, end) else { return false }
            let partition = start + length
            switch ai {
            case 0: out.append("https://id.gs1.org/8018/")
            case 1: out.append("https://id.gs1.org/8017/")
            default: out.append("https://id.gs1.org/402/")
            }
            return appendKey(slice(s, start, partition), slice(s, partition + 1), scratch: scratch, to: &out)
        }
        if has(s, i, "gdti:") {
            // (cp.doctype){12} with (\d{12}\.\.), then (token){1,20}$ with NO '.' in between;
            // serial = uri[30:], which skips the first token character whatever it is.
            guard let (length, end) = companyPrefix(s, 16, total: 12, doubleDot: true),
                  end < s.count, tokensToEnd(s, end, maxCount: 20) else { return false }
            let partition = 16 + length
            out.append("https://id.gs1.org/253/")
            guard appendKey(slice(s, 16, partition), slice(s, partition + 1, partition + 13 - length),
                            scratch: scratch, to: &out) else { return false }
            out.appendPercentEncoded(slice(s, 30))
            return true
        }
        if has(s, i, "cpi:") {
            // (\d{L}\.(cpitoken){1,30-L})\.\d{1,12}$ ; cp + uri[p+1:rfind('.')], uri[rfind('.')+1:]
            guard let (length, separator) = cpiComponent(s, 15) else { return false }
            let digitCount = digitRun(s, separator + 1, limit: 12)
            guard digitCount >= 1, atEnd(s, separator + 1 + digitCount) else { return false }
            // No '.' can follow the separator (digits and "\n"), so it is `uri.rfind('.')`.
            let partition = 15 + length
            out.append("https://id.gs1.org/8010/")
            out.appendPercentEncoded(slice(s, 15, partition))
            out.appendPercentEncoded(slice(s, partition + 1, separator))
            out.append("/8011/")
            out.append(slice(s, separator + 1))
            return true
        }
        if has(s, i, "sgcn:") {
            // (cp.couponref){12}\.\d{1,12}$ ; serial = uri[30:]
            guard let (length, end) = companyPrefix(s, 16, total: 12), end < s.count, s[end] == C.dot else { return false }
            let serialDigits = digitRun(s, end + 1, limit: 12)
            guard serialDigits >= 1, atEnd(s, end + 1 + serialDigits) else { return false }
            let partition = 16 + length
            out.append("https://id.gs1.org/255/")
            guard appendKey(slice(s, 16, partition), slice(s, partition + 1, partition + 13 - length),
                            scratch: scratch, to: &out) else { return false }
            out.append(slice(s, 30))
            return true
        }
        if has(s, i, "itip:") {
            // (cp.itemref){13}\.\d{2}\.\d{2}\.(token){1,20}$ ; piece uri[31:33], total uri[34:36], serial uri[37:]
            guard let (length, end) = companyPrefix(s, 16, total: 13),
                  end < s.count, s[end] == C.dot, digits(s, end + 1, 2),
                  end + 3 < s.count, s[end + 3] == C.dot, digits(s, end + 4, 2),
                  end + 6 < s.count, s[end + 6] == C.dot,
                  tokensToEnd(s, end + 7, maxCount: 20) else { return false }
            let partition = 16 + length
            out.append("https://id.gs1.org/8006/")
            guard appendGTIN(slice(s, 16, partition), slice(s, partition + 1, partition + 14 - length),
                            scratch: scratch, to: &out) else { return false }
            out.append(slice(s, 31, 33))
            out.append(slice(s, 34, 36))
            out.append("/21/")
            out.appendPercentEncoded(slice(s, 37))
            return true
        }
        if has(s, i, "upui:") {
            // (cp.itemref){13}\.(token){1,28}$ ; serial = uri[31:]
            guard let (length, end) = companyPrefix(s, 16, total: 13),
                  end < s.count, s[end] == C.dot, tokensToEnd(s, end + 1, maxCount: 28) else { return false }
            let partition = 16 + length
            out.append("https://id.gs1.org/01/")
            guard appendGTIN(slice(s, 16, partition), slice(s, partition + 1, partition + 14 - length),
                            scratch: scratch, to: &out) else { return false }
            out.append("/235/")
            out.appendPercentEncoded(slice(s, 31))
            return true
        }
        if has(s, i, "pgln:") {
            // (cp.partyref){12}$ ; key = cp + partyref (fixed length: a final "\n" is dropped)
            guard let (length, end) = companyPrefix(s, 16, total: 12), atEnd(s, end) else { return false }
            let partition = 16 + length
            out.append("https://id.gs1.org/417/")
            return appendKey(slice(s, 16, partition), slice(s, partition + 1, partition + 13 - length),
                             scratch: scratch, to: &out)
        }
        return false
    }

    /// `(\d{L}\.(cpitoken){1,30-L})\.` at `i`: returns (L, index of the closing '.').
    /// CPI tokens contain no '.', so the greedy run must stop right at it.
    static func cpiComponent(_ s: Buf, _ i: Int) -> (length: Int, separator: Int)? {
        let length = digitRun(s, i, limit: 13)
        guard length >= 6, length <= 12, i + length < s.count, s[i + length] == C.dot,
              let end = tokenRunEnd(s, i + length + 1, maxCount: 30 - length, cpi: true),
              end < s.count, s[end] == C.dot else { return nil }
        return (length, end)
    }

    /// `\.\*$` at `i`.
    @inline(__always) static func starEnd(_ s: Buf, _ i: Int) -> Bool {
        i + 1 < s.count && s[i] == C.dot && s[i + 1] == C.star && atEnd(s, i + 2)
    }

    /// `urn:epc:idpat:<scheme>:` URIs.
    static func epcPattern(_ s: Buf, scratch: UnsafeMutableBufferPointer<UInt32>, out: inout Output) -> Bool {
        let i = 14  // after "urn:epc:idpat:"
        if has(s, i, "sgtin:") || has(s, i, "upui:") {
            // (cp.itemref){13}\.\*$ ; GTIN only
            let start = s[i + 1] == 0x67 ? 20 : 19  // "sgtin:" or "upui:"
            guard let (length, end) = companyPrefix(s, start, total: 13), starEnd(s, end) else { return false }
            let partition = start + length
            out.append("https://id.gs1.org/01/")
            return appendGTIN(slice(s, start, partition), slice(s, partition + 1, partition + 14 - length),
                             scratch: scratch, to: &out)
        }
        for (scheme, kind) in [("grai:", 0), ("gdti:", 1), ("sgcn:", 2)] as [(StaticString, Int)] where has(s, i, scheme) {
            // (cp.ref){12} with (\d{12}\.\.) then \.\*$
            guard let (length, end) = companyPrefix(s, 19, total: 12, doubleDot: true), starEnd(s, end) else { return false }
            let partition = 19 + length
            switch kind {
            case 0: out.append("https://id.gs1.org/8003/")
            case 1: out.append("https://id.gs1.org/253/")
            default: out.append("https://id.gs1.org/255/")
            }
            return appendKey(slice(s, 19, partition), slice(s, partition + 1, partition + 13 - length),
                             leadingZero: kind == 0, scratch: scratch, to: &out)
        }
        if has(s, i, "cpi:") {
            // (\d{L}\.(cpitoken){1,30-L})\.\*$ ; cp + uri[p+1:rfind('.')]
            guard let (length, separator) = cpiComponent(s, 18), starEnd(s, separator) else { return false }
            let partition = 18 + length
            out.append("https://id.gs1.org/8010/")
            out.appendPercentEncoded(slice(s, 18, partition))
            out.appendPercentEncoded(slice(s, partition + 1, separator))
            return true
        }
        if has(s, i, "itip:") {
            // (cp.itemref){13}\.\d{2}\.\d{2}\.\*$ ; piece uri[34:36], total uri[37:39]
            guard let (length, end) = companyPrefix(s, 19, total: 13),
                  end < s.count, s[end] == C.dot, digits(s, end + 1, 2),
                  end + 3 < s.count, s[end + 3] == C.dot, digits(s, end + 4, 2),
                  starEnd(s, end + 6) else { return false }
            let partition = 19 + length
            out.append("https://id.gs1.org/8006/")
            guard appendGTIN(slice(s, 19, partition), slice(s, partition + 1, partition + 14 - length),
                            scratch: scratch, to: &out) else { return false }
            out.append(slice(s, 34, 36))
            out.append(slice(s, 37, 39))
            return true
        }
        return false
    }
}

// MARK: - GS1 Digital Link URIs

extension DigitalLinkNormalizer {
    /// `[\x22…\x7A]` of the DL syntax checks plus '/', for the CPV-with-qualifiers pattern.
    static let dlCharOrSlash = CharClass(low: 0xfbff_e084_0000_0000, high: 0x07ff_fffe_87ff_fffe)

    /// Key names of the reference's first DL pattern (short names and AIs).
    static let dlKeys: [StaticString] = [
        "01", "gtin", "8006", "itip", "8010", "cpid", "414", "gln", "417", "party", "8017", "gsrnp",
        "8018", "gsrn", "255", "gcn", "00", "sscc", "253", "gdti", "401", "ginc", "402", "gsin",
        "8003", "grai", "8004", "giai",
    ]
    /// AIs of the reference's canonical-host pattern.
    static let canonicalKeys: [StaticString] = [
        "01", "8006", "8010", "414", "417", "8017", "8018", "255", "00", "253", "401", "402", "8003", "8004",
    ]
    /// `str.replace` chain for short names, in the reference's order.
    static let shortNames: [(StaticString, StaticString)] = [
        ("/gtin/", "/01/"), ("/itip/", "/8006/"), ("/cpid/", "/8010/"), ("/gln/", "/414/"),
        ("/party/", "/417/"), ("/gsrnp/", "/8017/"), ("/gsrn/", "/8018/"), ("/gcn/", "/255/"),
        ("/sscc/", "/00/"), ("/gdti/", "/253/"), ("/ginc/", "/401/"), ("/gsin/", "/402/"),
        ("/grai/", "/8003/"), ("/giai/", "/8004/"), ("/cpv/", "/22/"), ("/lot/", "/10/"), ("/ser/", "/21/"),
    ]
    /// Keys searched, in this order, to rebase a URI onto `https://id.gs1.org`.
    static let rebaseKeys: [StaticString] = [
        "/00/", "/01/", "/253/", "/255/", "/401/", "/402/", "/414/", "/417/", "/8003/", "/8004/",
        "/8006/", "/8010/", "/8017/", "/8018/",
    ]

    /// `(names)\/` at `i`: the index of that '/'. Alternatives all end in '/', so the
    /// segment up to the next '/' must be one of the names.
    static func keySegment(_ s: Buf, _ i: Int, _ names: [StaticString]) -> Int? {
        var j = i
        while j < s.count, j - i <= 5, s[j] != C.slash { j += 1 }
        guard j < s.count, s[j] == C.slash else { return nil }
        let length = j - i
        for name in names where name.utf8CodeUnitCount == length && has(s, i, name) { return j }
        return nil
    }

    /// `\/(names)\/\d{4}[^\/]` at `i`; whatever follows is optional in every pattern using it.
    static func keyWithValue(_ s: Buf, _ i: Int, _ names: [StaticString]) -> Bool {
        guard i < s.count, s[i] == C.slash, let j = keySegment(s, i + 1, names) else { return false }
        return digits(s, j + 1, 4) && j + 5 < s.count && s[j + 5] != C.slash
    }

    /// `https:\/\/id.gs1.org\/` with its unescaped dots (any scalar but "\n").
    static func canonicalHost(_ s: Buf) -> Bool {
        s.count >= 19 && has(s, 0, "https://") && s[8] == 0x69 && s[9] == 0x64 && s[10] != C.nl
            && has(s, 11, "gs1") && s[14] != C.nl && has(s, 15, "org") && s[18] == C.slash
    }

    /// The reference's first DL pattern, after `^https?:` (`start` is the index after ':').
    ///
    /// `(\/\/authority)?((([^?#]*)(\/(keys)\/)(\d{4}[^\/]+)…optional…)|(\/[A-Za-z_-]{10}$))`:
    /// the authority is `[^\/?#]*` in effect and `[^?#]*` may absorb it, so the first
    /// alternative holds iff some '/' before the first '?' or '#' starts `\/(keys)\/\d{4}[^\/]`.
    /// The second holds iff the rest is `/` + 10 letters, or `//` + authority + `/` + 10 letters.
    static func dlSyntax(_ s: Buf, _ start: Int) -> Bool {
        var p = start
        while p < s.count {
            let c = s[p]
            if c == C.question || c == C.hash { break }
            if c == C.slash && keyWithValue(s, p, dlKeys) { return true }
            p += 1
        }
        func tenLetters(_ i: Int) -> Bool {
            i < s.count && s[i] == C.slash && classRun(s, i + 1, letterChar, limit: 10) == 10 && atEnd(s, i + 11)
        }
        if tenLetters(start) { return true }
        guard start + 1 < s.count, s[start] == C.slash, s[start + 1] == C.slash else { return false }
        var r = start + 2
        while r < s.count, s[r] != C.slash {
            if s[r] == C.question || s[r] == C.hash { return false }
            r += 1
        }
        return tenLetters(r)
    }

    /// Whether `s` has '/', 3 to 5 of a-z, '/' somewhere (the shape of every short name).
    static func mayHoldShortName(_ s: Buf) -> Bool {
        var i = 0
        while i < s.count {
            if s[i] == C.slash {
                var k = i + 1
                while k < s.count, s[k] &- 0x61 < 26 { k += 1 }
                if k < s.count, s[k] == C.slash, (3...5).contains(k - i - 1) { return true }
                i = k
            } else {
                i += 1
            }
        }
        return false
    }

    /// Python `str.find`: first index of `pattern` (non-empty) in `a`, or -1.
    static func find(_ a: [UInt32], _ pattern: StaticString) -> Int {
        let m = pattern.utf8CodeUnitCount
        let p = pattern.utf8Start
        guard a.count >= m else { return -1 }
        return a.withUnsafeBufferPointer { b in
            let first = UInt32(p[0])
            var i = 0
            while i <= b.count - m {
                if b[i] == first {
                    var k = 1
                    while k < m && b[i + k] == UInt32(p[k]) { k += 1 }
                    if k == m { return i }
                }
                i += 1
            }
            return -1
        }
    }

    /// Python slice `a[start:end]` (negative indices count from the end; clamped).
    static func pySlice(_ a: [UInt32], _ start: Int?, _ end: Int? = nil) -> ArraySlice<UInt32> {
        func index(_ i: Int?, _ fallback: Int) -> Int {
            guard var i else { return fallback }
            if i < 0 { i = max(i + a.count, 0) }
            return min(i, a.count)
        }
        let lower = index(start, 0), upper = index(end, a.count)
        return lower < upper ? a[lower..<upper] : a[lower..<lower]
    }

    static func scalars(_ literal: StaticString) -> [UInt32] {
        UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount).map { UInt32($0) }
    }

    /// Python `str.replace(pattern, replacement)`: all non-overlapping occurrences, left to right.
    static func replaceAll(_ a: inout [UInt32], _ pattern: StaticString, _ replacement: StaticString) {
        var i = find(a, pattern)
        guard i >= 0 else { return }
        let m = pattern.utf8CodeUnitCount
        var result: [UInt32] = []
        result.reserveCapacity(a.count + 16)
        var copied = 0
        a.withUnsafeBufferPointer { b in
            while i >= 0 {
                result.append(contentsOf: b[copied..<i])
                result.append(contentsOf: scalars(replacement))
                copied = i + m
                i = -1
                if copied + m <= b.count {
                    for k in copied...(b.count - m) where has(b, k, pattern) { i = k; break }
                }
            }
            result.append(contentsOf: b[copied...])
        }
        a = result
    }

    /// `G{0,max}$` at `i` for a class without "\n": greedy, then `$`.
    @inline(__always) static func classToEnd(_ s: Buf, _ i: Int, _ max: Int, _ cls: CharClass = dlChar) -> Bool {
        i <= s.count && atEnd(s, i + classRun(s, i, cls, limit: max))
    }

    /// The GS1 DL branch of the reference, from `^https?:` to the final syntax check.
    static func digitalLink(_ s: Buf) -> String? {
        let start: Int
        if has(s, 0, "https:") {
            start = 6
        } else if has(s, 0, "http:") {
            start = 5
        } else {
            return nil
        }
        guard dlSyntax(s, start) else { return nil }

        var u = Array(s)
        // Remove the query string (and, as in the reference, a fragment before it stays).
        if let q = u.firstIndex(of: C.question) { u.removeSubrange(q...) }

        // Short names to AIs, one `str.replace` after the other. Each short name is '/',
        // 3 to 5 lower-case letters, '/'; without such a run the whole chain is a no-op.
        if u.withUnsafeBufferPointer(mayHoldShortName) {
            for (name, ai) in shortNames { replaceAll(&u, name, ai) }
        }

        // Rebase onto the canonical host unless it is already there.
        let canonical = u.withUnsafeBufferPointer { b in canonicalHost(b) && keyWithValue(b, 18, canonicalKeys) }
        if !canonical {
            for key in rebaseKeys {
                let k = find(u, key)
                if k >= 0 {
                    u = scalars("https://id.gs1.org") + u[k...]
                    break
                }
            }
        }

        // Pad GTIN-13/-12/-8 to 14 digits; the reference replaces every "/01/".
        let padding: StaticString? = u.withUnsafeBufferPointer { b in
            guard canonicalHost(b), has(b, 19, "01/"), !digits(b, 22, 14) else { return nil }
            if digits(b, 22, 13) { return "/01/0" }
            if digits(b, 22, 12) { return "/01/00" }
            if digits(b, 22, 8) { return "/01/000000" }
            return nil
        }
        if let padding { replaceAll(&u, "/01/", padding) }

        // Remove the CPV. The reference computes x = uri[uri.find('/22/') + 4:] once, before
        // either rewrite; `beforeCPV` keeps that uri (copy on write, so no copy is made).
        let beforeCPV = u
        func x() -> [UInt32] { Array(pySlice(beforeCPV, find(beforeCPV, "/22/") + 4)) }
        func cpvMatch(_ cls: CharClass) -> Bool {
            u.withUnsafeBufferPointer { b in
                guard canonicalHost(b) else { return false }
                if has(b, 19, "8006/") && digits(b, 24, 18) && has(b, 42, "/22/") && classToEnd(b, 46, 20, cls) { return true }
                return has(b, 19, "01/") && digits(b, 22, 14) && has(b, 36, "/22/") && classToEnd(b, 40, 20, cls)
            }
        }
        if cpvMatch(dlChar) {
            // x[x.find('/'):-1]: x has no '/', so this is x[-1:-1], empty.
            let x = x()
            u = Array(pySlice(u, nil, find(u, "/22/")) + pySlice(x, find(x, "/"), -1))
        }
        if cpvMatch(dlCharOrSlash) {
            let x = x()
            u = Array(pySlice(u, nil, find(u, "/22/")) + pySlice(x, find(x, "/")))
        }

        // Lot and serial: keep the serial only.
        let lotAndSerial = u.withUnsafeBufferPointer { b -> Bool in
            guard canonicalHost(b) else { return false }
            var i: Int
            if has(b, 19, "8006/") && digits(b, 24, 18) {
                i = 42
            } else if has(b, 19, "01/") && digits(b, 22, 14) {
                i = 36
            } else {
                return false
            }
            guard has(b, i, "/10/") else { return false }
            i += 4
            i += classRun(b, i, dlChar, limit: 20)
            return has(b, i, "/21/") && classToEnd(b, i + 4, 20)
        }
        if lotAndSerial {
            let y = Array(pySlice(u, find(u, "/10/") + 4))
            u = Array(pySlice(u, nil, find(u, "/10/")) + pySlice(y, find(y, "/")))
        }

        let valid = u.withUnsafeBufferPointer { finalSyntax($0) }
        guard valid else { return nil }
        return u.withUnsafeBufferPointer { b in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4 * b.count) { buffer in
                var out = Output(buffer)
                out.append(b[...])
                return out.string
            }
        }
    }

    /// The reference's closing "valid syntax" alternation.
    static func finalSyntax(_ b: Buf) -> Bool {
        guard canonicalHost(b) else { return false }
        if has(b, 19, "00/") { return digits(b, 22, 18) && atEnd(b, 40) }
        if has(b, 19, "01/") {
            guard digits(b, 22, 14) else { return false }
            return atEnd(b, 36)
                || (has(b, 36, "/21/") && classToEnd(b, 40, 20))
                || (has(b, 36, "/10/") && classToEnd(b, 40, 20))
                || (has(b, 36, "/235/") && classToEnd(b, 41, 28))
        }
        if has(b, 19, "253/") { return digits(b, 23, 13) && classToEnd(b, 36, 17) }
        if has(b, 19, "255/") { return digits(b, 23, 13) && atEnd(b, 36 + digitRun(b, 36, limit: 12)) }
        if has(b, 19, "401/") { return classToEnd(b, 23, 30) }
        if has(b, 19, "402/") { return digits(b, 23, 17) && atEnd(b, 40) }
        if has(b, 19, "414/") {
            return digits(b, 23, 13) && (atEnd(b, 36) || (has(b, 36, "/254/") && classToEnd(b, 41, 20)))
        }
        if has(b, 19, "417/") { return digits(b, 23, 13) && atEnd(b, 36) }
        if has(b, 19, "8003/") { return digits(b, 24, 14) && classToEnd(b, 38, 16) }
        if has(b, 19, "8004/") { return classToEnd(b, 24, 30) }
        if has(b, 19, "8006/") {
            guard digits(b, 24, 18) else { return false }
            return atEnd(b, 42)
                || (has(b, 42, "/21/") && classToEnd(b, 46, 20))
                || (has(b, 42, "/10/") && classToEnd(b, 46, 20))
        }
        if has(b, 19, "8010/") {
            // ([#\-/0-9A-Z]{0,30})\/8011/(\d{0,12})$ — the class holds '/', so try every split —
            // or ([#\-/0-9A-Z]{0,30})$.
            let run = classRun(b, 24, cpiDLChar, limit: 30)
            for k in 0...run where has(b, 24 + k, "/8011/") {
                let d = 24 + k + 6
                if atEnd(b, d + digitRun(b, d, limit: 12)) { return true }
            }
            return atEnd(b, 24 + run)
        }
        if has(b, 19, "8017/") || has(b, 19, "8018/") { return digits(b, 24, 18) && atEnd(b, 42) }
        return false
    }
}
