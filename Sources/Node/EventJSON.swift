import Model
import Store

extension StoredEvent {
    /// The event as the CLI's `--json` and the local API show it: its indexed identity and
    /// the exact stored event (parsed as EPCIS input is, so a repeated key keeps its last value).
    public var json: JSONValue {
        var object: JSONObject = [
            "eventHashID": .string(hashID), "type": .string(type), "eventTime": .string(eventTime),
            "origin": .string(origin), "declaresError": .bool(declaresError),
        ]
        object["event"] = (try? JSONParser.parse(raw, limits: EPCISDocumentParser.limits)) ?? .string(String(decoding: raw, as: UTF8.self))
        return .object(object)
    }
}

extension Trace {
    /// The trace as `fedtrace trace --json` and `GET /trace/{uim}` return it.
    public var json: JSONValue {
        .object([
            "uim": .string(uim), "found": .bool(!(events.isEmpty && levels.count == 1)), "truncated": .bool(truncated),
            "levels": .array(levels.map { level in
                .object(["uim": .string(level.uim), "depth": .number(String(level.depth)), "parent": level.parent.map(JSONValue.string) ?? .null,
                         "periods": .array(level.periods.map(\.json))])
            }),
            "events": .array(events.map { event in
                guard case .object(var object) = event.json else { return .null }
                object["traceUIMs"] = .array((eventUIMs[event.rowID] ?? []).map(JSONValue.string))
                return .object(object)
            }),
        ])
    }
}

extension Trace.Period {
    /// `{"from": time, "to": time}`, canonical UTC; null for an open end.
    public var json: JSONValue {
        func time(_ millis: Int64?) -> JSONValue { millis.map { .string(Timestamp(epochMilliseconds: $0).canonicalUTC) } ?? .null }
        return .object(["from": time(from), "to": time(to)])
    }

    /// "from T to T", "since T", "until T" or "always", for people.
    public var text: String {
        func time(_ millis: Int64) -> String { Timestamp(epochMilliseconds: millis).canonicalUTC }
        switch (from, to) {
        case let (from?, to?): return "from \(time(from)) to \(time(to))"
        case let (from?, nil): return "since \(time(from))"
        case let (nil, to?): return "until \(time(to))"
        case (nil, nil): return "always"
        }
    }
}
