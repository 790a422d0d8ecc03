import Foundation
import Synchronization

/// Request counters and latency histograms for `GET /metrics`, shared by every handler
/// thread behind one `Mutex` (a handful of dictionary updates per request).
public final class MetricsRegistry: Sendable {
    /// Upper bounds of the latency buckets, in seconds (`+Inf` is implied).
    public static let latencyBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct RequestKey: Hashable {
        let listener: String
        let route: String
        let method: String
        let status: Int
    }

    struct RouteKey: Hashable {
        let listener: String
        let route: String
    }

    struct Histogram {
        var counts = [Int](repeating: 0, count: MetricsRegistry.latencyBuckets.count)
        var count = 0
        var sum = 0.0
    }

    struct State {
        var requests: [RequestKey: Int] = [:]
        var latency: [RouteKey: Histogram] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Counts one answered request and its latency.
    public func record(listener: String, route: String, method: String, status: Int, seconds: Double) {
        state.withLock { state in
            state.requests[RequestKey(listener: listener, route: route, method: method, status: status), default: 0] += 1
            var histogram = state.latency[RouteKey(listener: listener, route: route)] ?? Histogram()
            if let bucket = Self.latencyBuckets.firstIndex(where: { seconds <= $0 }) { histogram.counts[bucket] += 1 }
            histogram.count += 1
            histogram.sum += seconds
            state.latency[RouteKey(listener: listener, route: route)] = histogram
        }
    }

    /// How many requests matched these labels (tests and status displays).
    public func requestCount(listener: String? = nil, route: String? = nil, status: Int? = nil) -> Int {
        state.withLock { state in
            state.requests.filter { key, _ in
                (listener == nil || key.listener == listener) && (route == nil || key.route == route) && (status == nil || key.status == status)
            }.values.reduce(0, +)
        }
    }

    /// A gauge sampled at scrape time.
    public struct Gauge: Sendable {
        public let name: String
        public let help: String
        public let value: Double
        /// Label pairs, in order (e.g. stream and recipient).
        public let labels: [(String, String)]

        public init(name: String, help: String, value: Double, labels: [(String, String)] = []) {
            self.name = name
            self.help = help
            self.value = value
            self.labels = labels
        }
    }

    /// The Prometheus text exposition (format 0.0.4) of the counters, histograms and `gauges`.
    public func exposition(gauges: [Gauge] = []) -> String {
        let snapshot = state.withLock { $0 }
        var out = ""
        out += "# HELP fedtrace_http_requests_total HTTP requests answered, by listener, route pattern, method and status.\n"
        out += "# TYPE fedtrace_http_requests_total counter\n"
        let requests = snapshot.requests.sorted { ($0.key.listener, $0.key.route, $0.key.method, $0.key.status) < ($1.key.listener, $1.key.route, $1.key.method, $1.key.status) }
        for (key, count) in requests {
            out += "fedtrace_http_requests_total{listener=\"\(Self.escape(key.listener))\",route=\"\(Self.escape(key.route))\",method=\"\(Self.escape(key.method))\",status=\"\(key.status)\"} \(count)\n"
        }
        out += "# HELP fedtrace_http_request_duration_seconds Time from a parsed request to its response, by listener and route pattern.\n"
        out += "# TYPE fedtrace_http_request_duration_seconds histogram\n"
        for (key, histogram) in snapshot.latency.sorted(by: { ($0.key.listener, $0.key.route) < ($1.key.listener, $1.key.route) }) {
            let labels = "listener=\"\(Self.escape(key.listener))\",route=\"\(Self.escape(key.route))\""
            var cumulative = 0
            for (bound, count) in zip(Self.latencyBuckets, histogram.counts) {
                cumulative += count
                out += "fedtrace_http_request_duration_seconds_bucket{\(labels),le=\"\(Self.format(bound))\"} \(cumulative)\n"
            }
            out += "fedtrace_http_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(histogram.count)\n"
            out += "fedtrace_http_request_duration_seconds_sum{\(labels)} \(Self.format(histogram.sum))\n"
            out += "fedtrace_http_request_duration_seconds_count{\(labels)} \(histogram.count)\n"
        }
        var described = Set<String>()
        for gauge in gauges {
            // One HELP/TYPE per metric name; samples of a name must be adjacent (callers group them).
            if described.insert(gauge.name).inserted { out += "# HELP \(gauge.name) \(gauge.help)\n# TYPE \(gauge.name) gauge\n" }
            let labels = gauge.labels.isEmpty ? "" : "{" + gauge.labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
            out += "\(gauge.name)\(labels) \(Self.format(gauge.value))\n"
        }
        return out
    }

    /// A label value with `\`, `"` and newline escaped as the format requires.
    static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// A sample value: integers without a fraction, others in shortest round-trip form.
    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
