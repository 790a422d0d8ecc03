import Testing
@testable import Model

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2005-04-03T20:33:31.116000-06:00", "2005-04-04T02:33:31.116Z"),
        ("2005-04-03T20:33:31.116-06:00", "2005-04-04T02:33:31.116Z"),
        ("2020-01-14T00:00:00+01:00", "2020-01-13T23:00:00.000Z"),
        ("2019-11-06T14:00:00Z", "2019-11-06T14:00:00.000Z"),
        ("2019-11-06T14:00Z", "2019-11-06T14:00:00.000Z"),
        ("2024-02-29T23:59:59.9995+00:00", "2024-03-01T00:00:00.000Z"),   // 999.5 ms rounds half to even: up
        ("2024-02-29T23:59:59.0005Z", "2024-02-29T23:59:59.000Z"),         // 0.5 ms rounds half to even: down
        ("2024-02-29T23:59:59.0015Z", "2024-02-29T23:59:59.002Z"),
        ("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.500Z"),
        ("2013-06-08T14:58:56.591+0200", "2013-06-08T12:58:56.591Z"),
        ("2013-06-08T14:58:56.1234567+02:00", "2013-06-08T12:58:56.123Z"),
    ])
    func canonicalUTC(input: String, expected: String) throws {
        let t = try #require(Timestamp.parse(input))
        #expect(t.canonicalUTC == expected)
    }

    @Test(arguments: ["2005-04-03T20:33:31", "2005-13-01T00:00:00Z", "2005-02-30T00:00:00Z", "2005-04-03 20:33:31Z",
                      "2005-04-03T25:00:00Z", "2005-04-03T20:33:31+25:00", "20050403T203331Z", "", "yesterday",
                      "2005-04-03T20:33:31.Z", "2005-04-03T20:33:31Zjunk"])
    func refusesInvalid(input: String) {
        #expect(Timestamp.parse(input) == nil)
    }

    @Test func epochMilliseconds() throws {
        #expect(try #require(Timestamp.parse("1970-01-01T00:00:01.500Z")).epochMilliseconds == 1500)
        #expect(Timestamp(epochMilliseconds: -1).canonicalUTC == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(epochMilliseconds: 1_700_000_000_123).canonicalUTC == "2023-11-14T22:13:20.123Z")
    }

    /// The byte formatter against a plain one built from `String(Int)`, over instants from
    /// year 0 to 9999, every offset sign, and the years around the edges.
    @Test func formatsAsPlainDecimal() throws {
        func plain(_ seconds: Int64, _ fraction: Int, _ offset: Int) -> String {
            let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
            let secondOfDay = Int(seconds - days * 86_400)
            let (y, m, d) = Timestamp.civilFromDays(Int(days))
            func pad(_ v: Int, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }  // as before
            var out = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(fraction, 3))"
            out += offset == 0 ? "Z" : "\(offset < 0 ? "-" : "+")\(pad(abs(offset) / 60, 2)):\(pad(abs(offset) % 60, 2))"
            return out
        }
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        var checked = 0
        let first: Int64 = -62_167_219_200, last: Int64 = 253_402_300_799  // 0000-01-01 … 9999-12-31T23:59:59
        for edge in [first, first + 1, -1, 0, 1, 951_782_400, last - 1, last] {
            #expect(Timestamp.format(seconds: edge, fraction: 999, fractionDigits: 3, offsetMinutes: 0) == plain(edge, 999, 0))
        }
        for _ in 0..<20_000 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            let seconds = first + Int64(state % UInt64(last - first))
            let fraction = Int(state >> 40 % 1000) % 1000
            let offset = Int(state >> 20 % 1681) % 1681 - 840
            let formatted = Timestamp.format(seconds: seconds, fraction: fraction, fractionDigits: 3, offsetMinutes: offset)
            #expect(formatted == plain(seconds, fraction, offset))
            checked += 1
        }
        #expect(checked == 20_000)
        // Year −1 pads before its sign, as String(Int) padding always did (hash IDs rely on it).
        #expect(Timestamp.format(seconds: first - 86_400 * 365, fraction: 5, fractionDigits: 3, offsetMinutes: 0) == "00-1-01-01T00:00:00.005Z")
        #expect(try #require(Timestamp.parse("0000-01-01T00:30:00+01:00")).canonicalUTC == "00-1-12-31T23:30:00.000Z")
        // Out-of-range values (the memberwise initializer does not check them) stay in the buffer.
        let wide = Timestamp.format(seconds: Int64.max / 2, fraction: Int.min, fractionDigits: 3, offsetMinutes: Int.max)
        #expect(wide.utf8.count > 60 && wide.hasSuffix(":07"))
        #expect(Timestamp.format(seconds: last + 1, fraction: 0, fractionDigits: 3, offsetMinutes: -570) == "10000-01-01T00:00:00.000-09:30")
    }

    @Test func zoneOffsets() {
        #expect(Timestamp.isValidZoneOffset("+05:00"))
        #expect(Timestamp.isValidZoneOffset("-06:30"))
        #expect(Timestamp.isValidZoneOffset("+14:00"))
        #expect(!Timestamp.isValidZoneOffset("+14:30"))
        #expect(!Timestamp.isValidZoneOffset("05:00"))
        #expect(!Timestamp.isValidZoneOffset("+5:00"))
    }

    /// The form capture requires of an event's own times; the calendar is `parse`'s.
    @Test(arguments: [
        ("2020-02-01T10:00:00Z", true), ("2020-02-01t10:00:00.123456z", true), ("2020-02-01T10:00:00.5+02:00", true),
        ("2020-02-30T10:00:00Z", true),            // the form is right; parse refuses the day
        ("2020-02-01T10:00:60Z", false), ("2020-02-01T24:00:00Z", false), ("2020-02-01T10:00Z", false),
        ("2020-02-01T10:00:00+0200", false), ("2020-02-01T10:00:00,5Z", false), ("2020-02-01T10:00:00.Z", false),
        ("2020-02-01T10:00:00", false), ("2020-02-01T10:00:00Z ", false), ("2020-02-01 10:00:00Z", false),
    ])
    func rfc3339Form(text: String, valid: Bool) {
        #expect(Timestamp.hasRFC3339Form(text) == valid, "\(text)")
    }
}

