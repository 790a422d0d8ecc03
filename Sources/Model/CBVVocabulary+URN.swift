extension CBVVocabulary {
    /// The reference's `_try_format_web_vocabulary` (epcis-event-hash-generator 1.9.3,
    /// `hash_generator.py`): every occurrence of the CBV 1.x URN prefixes
    /// `urn:epcglobal:cbv:bizstep:`, `…:disp:`, `…:btt:`, `…:sdt:` and `…:er:` anywhere in
    /// `text` becomes `https://ref.gs1.org/cbv/BizStep-`, `Disp-`, `BTT-`, `SDT-`, `ER-`.
    ///
    /// The reference chains five `str.replace` calls. One left-to-right pass is the same:
    /// occurrences of different prefixes cannot overlap (each starts with `urn:`, found in
    /// none of them past offset 0), and no replacement text can complete a new occurrence
    /// (they start with `h` and end with `-`, which no prefix contains).
    /// Returns `text` itself, without copying, when it holds no `urn:epcglobal:cbv:`.
    public static func webVocabularyFromURN(_ text: String) -> String {
        var text = text
        text.makeContiguousUTF8()
        return text.utf8.withContiguousStorageIfAvailable { bytes -> String in
            guard let first = findCBVPrefix(bytes, from: 0) else { return text }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + 16)
            var copied = 0
            var i = first
            while let start = findCBVPrefix(bytes, from: i) {
                let after = start + cbvPrefix.count
                guard let (suffixLength, replacement) = urnReplacement(bytes, after) else {
                    i = start + 1
                    continue
                }
                out.append(contentsOf: bytes[copied..<start])
                out.append(contentsOf: replacement.utf8)
                copied = after + suffixLength
                i = copied
            }
            if copied == 0 { return text }
            out.append(contentsOf: bytes[copied...])
            return String(decoding: out, as: UTF8.self)
        } ?? text
    }

    private static let cbvPrefix = Array("urn:epcglobal:cbv:".utf8)

    /// Start of the next `urn:epcglobal:cbv:` at or after `from`.
    private static func findCBVPrefix(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        let m = 18  // "urn:epcglobal:cbv:".utf8.count
        guard bytes.count - from >= m else { return nil }
        var i = from
        while i <= bytes.count - m {
            if bytes[i] == 0x75 && bytes[i + 1] == 0x72 && bytes[i + 2] == 0x6E && bytes[i + 3] == 0x3A {  // "urn:"
                var k = 4
                while k < m && bytes[i + k] == cbvPrefix[k] { k += 1 }
                if k == m { return i }
            }
            i += 1
        }
        return nil
    }

    /// The vocabulary word after `urn:epcglobal:cbv:` at `i`, with its replacement.
    private static func urnReplacement(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int) -> (Int, String)? {
        for (suffix, replacement) in urnVocabularies {
            let s = suffix.utf8
            guard bytes.count - i >= s.count else { continue }
            if zip(bytes[i..<(i + s.count)], s).allSatisfy({ $0 == $1 }) { return (s.count, replacement) }
        }
        return nil
    }

    private static let urnVocabularies: [(String, String)] = [
        ("bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
        ("disp:", "https://ref.gs1.org/cbv/Disp-"),
        ("btt:", "https://ref.gs1.org/cbv/BTT-"),
        ("sdt:", "https://ref.gs1.org/cbv/SDT-"),
        ("er:", "https://ref.gs1.org/cbv/ER-"),
    ]
}
