import Foundation
import Model
import Net

/// One request as a route handler sees it: the HTTP request, its connection, and the
/// decoded path parameters.
public struct APIRequest: Sendable {
    public let http: HTTPRequest
    public let context: RequestContext
    /// Path parameters by name (`{uim}` → `parameters["uim"]`), percent-decoded.
    public let parameters: [String: String]
    /// The matched route's pattern, e.g. `/events/{eventHashID}`.
    public let route: String

    public init(http: HTTPRequest, context: RequestContext, parameters: [String: String], route: String) {
        self.http = http
        self.context = context
        self.parameters = parameters
        self.route = route
    }
}

/// A route handler: answers, or throws a problem report.
public typealias APIHandler = @Sendable (APIRequest) throws(APIProblem) -> HTTPResponse

/// A method and path pattern with its handler. Patterns are literal segments and
/// `{name}` segments that match one non-empty segment (`/trace/{uim}`).
public struct Route: Sendable {
    public let method: HTTPMethod
    public let pattern: String
    public let handler: APIHandler
    let segments: [Segment]

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    public init(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping APIHandler) {
        self.method = method
        self.pattern = pattern
        self.handler = handler
        segments = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
    }

    /// The decoded parameters when `path` (already split) fits the pattern, else nil.
    func match(_ raw: [Substring]) -> [String: String]?? {
        guard raw.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, raw) {
            switch segment {
            case .literal(let text):
                guard part == text else { return nil }
            case .parameter(let name):
                guard !part.isEmpty else { return nil }
                // A segment that does not decode fits the shape but is unusable: .some(nil).
                guard let decoded = String(part).removingPercentEncoding else { return .some(nil) }
                parameters[name] = decoded
            }
        }
        return .some(parameters)
    }
}

/// Method + path routing with problem reports: an unknown path is 404 `http.not_found`, a
/// known path with another method is 405 `http.method_not_allowed` with `Allow`. HEAD is
/// answered by the GET route (the serializer drops the body).
public struct Router: Sendable {
    public let routes: [Route]

    public init(routes: [Route]) {
        self.routes = routes
    }

    /// The route pattern for metrics when no route matched.
    public static let unmatchedRoute = "unmatched"

    /// Answers `request`; also returns the pattern of the route that answered (or
    /// `unmatched`) for metrics. Never throws: every failure is a problem response.
    public func respond(to request: HTTPRequest, context: RequestContext) -> (response: HTTPResponse, route: String) {
        var path = request.path
        // Absolute-form targets (`http://host/path`) route by their path.
        if path.hasPrefix("http://") || path.hasPrefix("https://") {
            let afterScheme = path[path.index(path.firstIndex(of: ":")!, offsetBy: 3)...]
            path = afterScheme.firstIndex(of: "/").map { afterScheme[$0...] } ?? "/"
        }
        guard path.hasPrefix("/") else {
            return (APIProblem.notFound("http.not_found", "no resource at this target").response, Self.unmatchedRoute)
        }
        let raw = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { $0 }
        let method = request.method == .head ? HTTPMethod.get : request.method
        var allowed: [HTTPMethod] = []
        for route in routes {
            guard let found = route.match(raw) else { continue }
            guard route.method == method else {
                if !allowed.contains(route.method) { allowed.append(route.method) }
                continue
            }
            guard let parameters = found else {
                return (APIProblem.badRequest("http.bad_path_encoding", "a path segment is not valid percent-encoded UTF-8").response, route.pattern)
            }
            let apiRequest = APIRequest(http: request, context: context, parameters: parameters, route: route.pattern)
            do {
                return (try route.handler(apiRequest), route.pattern)
            } catch {
                return (error.response, route.pattern)
            }
        }
        if allowed.isEmpty {
            return (APIProblem.notFound("http.not_found", "no resource at this path; GET /openapi.json lists the API").response, Self.unmatchedRoute)
        }
        if allowed.contains(.get) { allowed.insert(.head, at: allowed.firstIndex(of: .get)! + 1) }
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        let problem = APIProblem(status: 405, code: "http.method_not_allowed",
                                 detail: "\(request.method.rawValue) is not allowed here; use \(allow)",
                                 headers: ["Allow": allow])
        return (problem.response, Self.unmatchedRoute)
    }
}
