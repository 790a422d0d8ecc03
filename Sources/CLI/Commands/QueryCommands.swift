import Foundation
import Model
import Node
import Store

/// Text and JSON renderings of stored events shared by `events` and `trace`.
enum EventRendering {
    /// The last segment of a CBV URI (`…/BizStep-shipping` → `shipping`), for compact text.
    static func short(_ uri: String?) -> String {
        guard let uri else { return "-" }
        if let dash = uri.lastIndex(of: "-"), uri.hasPrefix("https://ref.gs1.org/cbv/") { return String(uri[uri.index(after: dash)...]) }
        return uri
    }

    static func line(_ e: StoredEvent) -> String {
        let kind = e.declaresError ? "\(e.type)(error declaration)" : e.type
        return "\(e.eventTime)  \(kind)  \(e.action ?? "-")  \(short(e.bizStep))  \(short(e.disposition))  \(e.origin)  \(e.hashID)"
    }
}

enum EventsCommand {
    static let command = Command(
        "events", summary: "list stored events, oldest first, filtered by identifier, business step, type or time",
        usage: "--data DIR [--uim U] [--biz-step S] [--type T] [--since TIME] [--until TIME] [--limit N] [--json]",
        options: [
            dataOption,
            OptionSpec("uim", value: "U", repeatable: true, help: "events naming this identifier in any role (EPC URN or GS1 Digital Link)"),
            OptionSpec("biz-step", value: "S", repeatable: true, help: "CBV business step, bare (shipping) or as URI"),
            OptionSpec("type", value: "T", repeatable: true, help: "event type, e.g. ObjectEvent"),
            OptionSpec("since", value: "TIME", help: "event time at or after TIME (ISO 8601 with zone)"),
            OptionSpec("until", value: "TIME", help: "event time before TIME"),
            OptionSpec("limit", value: "N", help: "at most N events (default 1000)"),
            jsonOption,
        ]
    ) { arguments, output in
        let node = try openNode(arguments)
        var query = EventQuery()
        query.anyEPCs = arguments.all("uim")
        query.bizSteps = arguments.all("biz-step")
        query.types = arguments.all("type")
        for type in query.types where EPCISEventType(rawValue: type) == nil {
            throw UsageError(reason: "--type '\(type)' is not an EPCIS event type")
        }
        func time(_ name: String) throws(UsageError) -> Int64? {
            guard let text = arguments.value(name) else { return nil }
            guard let t = Timestamp.parse(text) else { throw UsageError(reason: "--\(name) '\(text)' is not an ISO 8601 time with a zone, e.g. 2026-01-31T00:00:00Z") }
            return t.epochMilliseconds
        }
        query.eventTimeFrom = try time("since")
        query.eventTimeBefore = try time("until")
        let limit = try arguments.integer("limit", default: 1000, in: 1...10_000_000)
        query.limit = limit + 1
        query.order = .eventTime
        var events = try node.store.events(matching: query)
        // One more than asked for tells whether the list is whole; a cut list says so.
        let more = events.count > limit
        if more { events.removeLast() }
        if arguments.flag("json") {
            output.json(.array(events.map(\.json)))
            if more { output.error("fedtrace events: more events match; these are the oldest \(limit) (raise --limit, or narrow with --since/--until)") }
        } else {
            for event in events { output.line(EventRendering.line(event)) }
            output.line("\(events.count) event\(events.count == 1 ? "" : "s")" + (more ? " (the oldest \(limit); more match: raise --limit, or narrow with --since/--until)" : ""))
        }
        return 0
    }
}

enum TraceCommand {
    static let command = Command(
        "trace", summary: "where did this pack come from? follow aggregation up (every carton, case, pallet it was in, and when) and down, with each level's events while linked",
        usage: "--data DIR UIM [--max-uims N] [--json]",
        options: [dataOption, OptionSpec("max-uims", value: "N", help: "stop expanding contents after N identifiers (default 5000)"), jsonOption]
    ) { arguments, output in
        guard arguments.positionals.count == 1 else { throw UsageError(reason: "name exactly one UIM to trace") }
        let node = try openNode(arguments)
        let trace = try node.store.trace(uim: arguments.positionals[0], maxUIMs: try arguments.integer("max-uims", default: 5000, in: 1...10_000_000))
        if arguments.flag("json") {
            output.json(trace.json)
            return trace.events.isEmpty && trace.levels.count == 1 ? 1 : 0
        }
        if trace.events.isEmpty && trace.levels.count == 1 {
            output.line("no events here name \(trace.uim)")
            return 1
        }
        output.line("trace of \(trace.uim)")
        let containers = trace.levels.filter { $0.depth < 0 }.sorted { $0.depth < $1.depth }
        let contents = trace.levels.filter { $0.depth > 0 }
        for level in containers {
            output.line("  contained in (level \(-level.depth)): \(level.uim)  [\(level.periods.map(\.text).joined(separator: "; "))]")
        }
        if !contents.isEmpty {
            let deepest = contents.map(\.depth).max() ?? 0
            for depth in 1...deepest {
                let here = contents.filter { $0.depth == depth }
                output.line("  contents level \(depth): \(here.count) identifier\(here.count == 1 ? "" : "s")" + (here.count <= 5 ? ": " + here.map(\.uim).joined(separator: ", ") : ""))
            }
        }
        if trace.truncated { output.line("  (cut at --max-uims: more identifiers are linked than shown)") }
        output.line("events, oldest first:")
        let depthOf = Dictionary(trace.levels.map { ($0.uim, $0.depth) }, uniquingKeysWith: { a, _ in a })
        for event in trace.events {
            let uims = trace.eventUIMs[event.rowID] ?? []
            let level = uims.compactMap { depthOf[$0] }.min(by: { abs($0) < abs($1) }) ?? 0
            let label = level == 0 ? "this UIM" : (level < 0 ? "container \(-level)" : "contents \(level)")
            output.line("  \(EventRendering.line(event))  [\(label)]")
        }
        output.line("\(trace.levels.count) identifier\(trace.levels.count == 1 ? "" : "s"), \(trace.events.count) event\(trace.events.count == 1 ? "" : "s")")
        return 0
    }
}
