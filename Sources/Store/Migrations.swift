/// A named schema change. Applied once, in order, and recorded in `schema_migrations`.
public struct Migration: Sendable {
    public let name: String
    public let sql: String
    /// Work SQL alone cannot express, run after `sql` in the same transaction.
    public let then: (@Sendable (Database) throws -> Void)?

    public init(_ name: String, _ sql: String, then: (@Sendable (Database) throws -> Void)? = nil) {
        self.name = name
        self.sql = sql
        self.then = then
    }
}

/// Applies named migrations in order; each runs in its own transaction with its record.
public struct Migrator: Sendable {
    public let migrations: [Migration]

    public init(_ migrations: [Migration]) {
        self.migrations = migrations
    }

    /// Applies every migration not yet recorded. Returns the names applied now.
    @discardableResult
    public func migrate(_ database: SerialDatabase) throws -> [String] {
        try database.read { db in
            try db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))")
        }
        let applied = Set(try appliedNames(database))
        let known = Set(migrations.map(\.name))
        if let unknown = applied.subtracting(known).sorted().first {
            throw StoreError(code: "store.migration.unknown", reason: "the database has migration '\(unknown)' that this version of fedtrace does not know; it was written by a newer version")
        }
        var done: [String] = []
        for migration in migrations where !applied.contains(migration.name) {
            try database.write { db in
                try db.execute(migration.sql)
                try migration.then?(db)
                try db.prepare("INSERT INTO schema_migrations(name) VALUES (?)").bind([.text(migration.name)]).run()
            }
            done.append(migration.name)
        }
        return done
    }

    /// The names of the migrations recorded in the database, in the order applied.
    public func appliedNames(_ database: SerialDatabase) throws -> [String] {
        try database.read { db in
            try db.prepare("SELECT name FROM schema_migrations ORDER BY rowid").rows { $0.text(0) ?? "" }
        }
    }
}
