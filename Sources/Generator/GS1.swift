import Model

/// GS1 identifier helpers: mod-10 check digits and the Digital Link URIs that FedTrace
/// uses as UIMs (docs/tobacco-extension.md, "UIM identifiers").
public enum GS1 {
    /// The GS1 mod-10 check digit for `digits` (all digits of the key except the last),
    /// computed by Model's one implementation (GenSpecs 7.9.1). Returns nil unless every
    /// character is an ASCII digit (Model's also takes other Unicode digits, as the hash
    /// reference does; keys written here are ASCII).
    public static func checkDigit(for digits: some StringProtocol) -> Int? {
        guard digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return DigitalLinkNormalizer.checkDigit(digits)
    }

    /// Whether `key` (GTIN-8/12/13/14, GLN-13, SSCC-18, ...) ends in its correct check digit.
    public static func hasValidCheckDigit(_ key: String) -> Bool {
        guard key.utf8.count >= 2, let last = key.utf8.last,
              let expected = checkDigit(for: key.dropLast()) else { return false }
        return Int(last) - Int(UInt8(ascii: "0")) == expected
    }

    /// `body` followed by its check digit, e.g. `withCheckDigit("0614141007349".dropLast())`.
    public static func withCheckDigit(_ body: String) -> String {
        guard let digit = checkDigit(for: body) else {
            preconditionFailure("GS1 key body must be digits only")
        }
        return body + String(digit)
    }

    /// A GTIN-14 from an indicator digit, a company prefix and an item reference
    /// (prefix + reference must be 12 digits).
    public static func gtin14(indicator: Int, companyPrefix: String, itemReference: Int) -> String {
        let referenceWidth = 12 - companyPrefix.utf8.count
        return withCheckDigit(String(indicator) + companyPrefix + zeroPadded(itemReference, width: referenceWidth))
    }

    /// An SSCC-18 from an extension digit, a company prefix and a serial reference
    /// (prefix + reference must be 16 digits).
    public static func sscc18(extensionDigit: Int, companyPrefix: String, serialReference: Int) -> String {
        let referenceWidth = 16 - companyPrefix.utf8.count
        return withCheckDigit(String(extensionDigit) + companyPrefix + zeroPadded(serialReference, width: referenceWidth))
    }

    /// A GLN-13 from a company prefix and a location reference (together 12 digits).
    public static func gln13(companyPrefix: String, locationReference: Int) -> String {
        let referenceWidth = 12 - companyPrefix.utf8.count
        return withCheckDigit(companyPrefix + zeroPadded(locationReference, width: referenceWidth))
    }

    /// `https://id.gs1.org/01/<GTIN-14>/21/<serial>`: an SGTIN as a GS1 Digital Link URI.
    public static func sgtinURI(gtin: String, serial: String) -> String {
        "https://id.gs1.org/01/\(gtin)/21/\(serial)"
    }

    /// `https://id.gs1.org/00/<SSCC-18>`: a logistic unit as a GS1 Digital Link URI.
    public static func ssccURI(_ sscc: String) -> String { "https://id.gs1.org/00/\(sscc)" }

    /// `https://id.gs1.org/414/<GLN-13>`: a physical location as a GS1 Digital Link URI.
    public static func locationURI(gln: String) -> String { "https://id.gs1.org/414/\(gln)" }

    /// `https://id.gs1.org/417/<GLN-13>`: a party (PGLN) as a GS1 Digital Link URI.
    public static func partyURI(gln: String) -> String { "https://id.gs1.org/417/\(gln)" }

    static func zeroPadded(_ value: Int, width: Int) -> String {
        let text = String(value)
        precondition(value >= 0 && text.utf8.count <= width, "\(value) does not fit in \(width) digits")
        return String(repeating: "0", count: width - text.utf8.count) + text
    }
}
