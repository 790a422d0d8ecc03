import Foundation

/// One benchmark figure with the physical limit measured in the same run (DESIGN §14).
///
/// Scripts compare runs through `--json`, so the field names are a contract:
/// `scenario`, `figure`, `unit`, `baseline`, `baselineName`, `ratio`, `target`, `meetsTarget`.
public struct BenchmarkResult: Codable, Sendable, Equatable {
    /// The scenario name, e.g. `capture` or `crypto.sign-seal.1KiB`.
    public var scenario: String
    /// The measured figure (higher is better unless `unit` says otherwise).
    public var figure: Double
    /// The unit of `figure` and `baseline`, e.g. `events/s`.
    public var unit: String
    /// The same-run physical limit for the same work.
    public var baseline: Double
    /// What the baseline measures.
    public var baselineName: String
    /// `figure / baseline`.
    public var ratio: Double
    /// The DESIGN §14 target, in words.
    public var target: String
    /// Whether the figure meets the target.
    public var meetsTarget: Bool

    public init(scenario: String, figure: Double, unit: String, baseline: Double, baselineName: String, target: String, meetsTarget: Bool) {
        self.scenario = scenario
        self.figure = figure
        self.unit = unit
        self.baseline = baseline
        self.baselineName = baselineName
        self.ratio = baseline == 0 ? 0 : figure / baseline
        self.target = target
        self.meetsTarget = meetsTarget
    }
}

/// Formats results as an aligned text table for people.
public func benchmarkTable(_ results: [BenchmarkResult]) -> String {
    let header = ["scenario", "figure", "baseline", "ratio", "target", "met"]
    let rows = results.map { r in
        [r.scenario, "\(formatFigure(r.figure)) \(r.unit)", "\(formatFigure(r.baseline)) \(r.unit) (\(r.baselineName))",
         String(format: "%.2f", r.ratio), r.target, r.meetsTarget ? "yes" : "NO"]
    }
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
        zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}

private func formatFigure(_ value: Double) -> String {
    value >= 100 ? String(format: "%.0f", value) : String(format: "%.3g", value)
}
