import Model

/// What the generator needs to know about a Party's country to make its data look local:
/// the GS1 member-organisation prefix for its company prefixes, and its clock.
struct CountryProfile: Sendable {
    /// The 3-digit GS1 prefix of the country's member organisation (`487` for Kazakhstan).
    let gs1Prefix: String
    /// Standard (winter) offset from UTC, in minutes.
    let standardOffsetMinutes: Int
    /// Whether the country moves its clocks one hour forward with the EU rule
    /// (last Sunday of March to last Sunday of October, 01:00 UTC).
    let observesEUSummerTime: Bool

    init(_ party: PartyID) {
        if let known = Self.table[party.code] {
            self = known
        } else {
            // Unknown country: in-company numbering range and UTC, documented as such.
            self = CountryProfile(gs1Prefix: "200", standardOffsetMinutes: 0, observesEUSummerTime: false)
        }
    }

    private init(gs1Prefix: String, standardOffsetMinutes: Int, observesEUSummerTime: Bool) {
        self.gs1Prefix = gs1Prefix
        self.standardOffsetMinutes = standardOffsetMinutes
        self.observesEUSummerTime = observesEUSummerTime
    }

    /// The local offset from UTC, in minutes, at an instant (milliseconds since 1970 UTC).
    func offsetMinutes(at milliseconds: Int64) -> Int {
        guard observesEUSummerTime else { return standardOffsetMinutes }
        let day = Int(milliseconds / 86_400_000)
        let year = JSONWriter.civilDate(daysSinceEpoch: day).year
        let start = Self.lastSunday(year: year, month: 3)
        let end = Self.lastSunday(year: year, month: 10)
        let hour: Int64 = 3_600_000
        let summer = milliseconds >= Int64(start) * 86_400_000 + hour
            && milliseconds < Int64(end) * 86_400_000 + hour
        return standardOffsetMinutes + (summer ? 60 : 0)
    }

    /// Days since 1970-01-01 of the last Sunday of a 31-day month.
    static func lastSunday(year: Int, month: Int) -> Int {
        let last = daysSinceEpoch(year: year, month: month, day: 31)
        let weekday = ((last + 4) % 7 + 7) % 7 // 0 = Sunday; 1970-01-01 was a Thursday
        return last - weekday
    }

    /// H. Hinnant's `days_from_civil`.
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static let table: [String: CountryProfile] = [
        "KZ": .init(gs1Prefix: "487", standardOffsetMinutes: 300, observesEUSummerTime: false),
        "UA": .init(gs1Prefix: "482", standardOffsetMinutes: 120, observesEUSummerTime: true),
        "GE": .init(gs1Prefix: "486", standardOffsetMinutes: 240, observesEUSummerTime: false),
        "AZ": .init(gs1Prefix: "476", standardOffsetMinutes: 240, observesEUSummerTime: false),
        "AM": .init(gs1Prefix: "485", standardOffsetMinutes: 240, observesEUSummerTime: false),
        "UZ": .init(gs1Prefix: "478", standardOffsetMinutes: 300, observesEUSummerTime: false),
        "KG": .init(gs1Prefix: "470", standardOffsetMinutes: 360, observesEUSummerTime: false),
        "TJ": .init(gs1Prefix: "488", standardOffsetMinutes: 300, observesEUSummerTime: false),
        "TM": .init(gs1Prefix: "483", standardOffsetMinutes: 300, observesEUSummerTime: false),
        "TR": .init(gs1Prefix: "869", standardOffsetMinutes: 180, observesEUSummerTime: false),
        "RU": .init(gs1Prefix: "460", standardOffsetMinutes: 180, observesEUSummerTime: false),
        "BY": .init(gs1Prefix: "481", standardOffsetMinutes: 180, observesEUSummerTime: false),
        "MD": .init(gs1Prefix: "484", standardOffsetMinutes: 120, observesEUSummerTime: true),
        "RO": .init(gs1Prefix: "594", standardOffsetMinutes: 120, observesEUSummerTime: true),
        "PL": .init(gs1Prefix: "590", standardOffsetMinutes: 60, observesEUSummerTime: true),
        "DE": .init(gs1Prefix: "400", standardOffsetMinutes: 60, observesEUSummerTime: true),
        "LT": .init(gs1Prefix: "477", standardOffsetMinutes: 120, observesEUSummerTime: true),
        "LV": .init(gs1Prefix: "475", standardOffsetMinutes: 120, observesEUSummerTime: true),
        "EE": .init(gs1Prefix: "474", standardOffsetMinutes: 120, observesEUSummerTime: true),
        "FI": .init(gs1Prefix: "640", standardOffsetMinutes: 120, observesEUSummerTime: true),
        "FR": .init(gs1Prefix: "300", standardOffsetMinutes: 60, observesEUSummerTime: true),
        "NL": .init(gs1Prefix: "870", standardOffsetMinutes: 60, observesEUSummerTime: true),
        "GB": .init(gs1Prefix: "500", standardOffsetMinutes: 0, observesEUSummerTime: true),
        "CN": .init(gs1Prefix: "690", standardOffsetMinutes: 480, observesEUSummerTime: false),
        "IN": .init(gs1Prefix: "890", standardOffsetMinutes: 330, observesEUSummerTime: false),
        "AE": .init(gs1Prefix: "629", standardOffsetMinutes: 240, observesEUSummerTime: false),
    ]
}
