/// The store's named migrations, in order. A migration is never edited once released;
/// changes are new migrations (see docs/operations.md, "Upgrades and migrations").
public enum Schema {
    public static let migrator = Migrator([
        Migration("0001-events-uims-links-audit", """
        CREATE TABLE node_settings (
            key TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
        );
        -- JSON-LD @context of captured documents, stored once; events point at theirs so the
        -- raw event bytes stay interpretable (extension prefixes).
        CREATE TABLE contexts (
            id INTEGER PRIMARY KEY,
            digest TEXT NOT NULL UNIQUE,
            body BLOB NOT NULL
        );
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            hash_id TEXT NOT NULL,
            declares_error INTEGER NOT NULL DEFAULT 0 CHECK (declares_error IN (0, 1)),
            type TEXT NOT NULL,
            event_time INTEGER NOT NULL,
            event_time_text TEXT NOT NULL,
            time_zone_offset TEXT NOT NULL,
            record_time INTEGER NOT NULL,
            action TEXT,
            biz_step TEXT,
            disposition TEXT,
            read_point TEXT,
            biz_location TEXT,
            origin TEXT NOT NULL,
            context_id INTEGER REFERENCES contexts(id),
            raw BLOB NOT NULL,
            retention_deadline INTEGER,
            UNIQUE (hash_id, declares_error)
        );
        CREATE INDEX events_by_time ON events(event_time);
        CREATE INDEX events_by_biz_step ON events(biz_step, event_time);
        CREATE INDEX events_by_retention ON events(retention_deadline) WHERE retention_deadline IS NOT NULL;
        -- Every identifier an event names, canonical GS1 Digital Link form where possible.
        CREATE TABLE uims (
            uim TEXT NOT NULL,
            event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            PRIMARY KEY (uim, event_id, role)
        ) WITHOUT ROWID;
        CREATE INDEX uims_by_event ON uims(event_id);
        -- Parent/child links of AggregationEvents and AssociationEvents (ADD and DELETE),
        -- derived from the UIM index (the parent and the children of one event) rather
        -- than stored a second time: one fewer random index write per child at capture.
        CREATE VIEW aggregation_links (parent, child, event_id, action) AS
            SELECT p.uim, c.uim, c.event_id, e.action
            FROM uims c
            JOIN uims p ON p.event_id = c.event_id AND p.role = 'parent'
            JOIN events e ON e.id = c.event_id
            WHERE c.role IN ('child', 'class')
              AND e.type IN ('AggregationEvent', 'AssociationEvent')
              AND e.action IN ('ADD', 'DELETE');
        -- Append-only, hash-chained audit log (see AuditLog).
        CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL,
            previous_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """),
        Migration("0002-agreements", AgreementStore.schemaSQL),
        Migration("0003-decisions", DecisionLog.schemaSQL),
        Migration("0004-sync", SyncStore.schemaSQL),
        Migration("0005-mailbox", MailboxStore.schemaSQL),
        Migration("0006-directory", DirectoryStore.schemaSQL),
        Migration("0007-enquiries", EnquiryStore.schemaSQL),
        // The UIM index as sorted runs (see PostingIndex): existing postings become run 1
        // at the level its size gives (a large old index is at the top level, so no capture
        // after the upgrade merges it again), each event's parent is kept on its row, and `uims` / `aggregation_links` become
        // views with the columns they had, so queries read as before.
        Migration("0008-posting-runs", """
        CREATE TABLE posting_runs (
            run INTEGER PRIMARY KEY,
            postings INTEGER NOT NULL,
            level INTEGER NOT NULL
        );
        CREATE TABLE postings (
            run INTEGER NOT NULL,
            uim TEXT NOT NULL,
            event_id INTEGER NOT NULL,
            role TEXT NOT NULL,
            PRIMARY KEY (run, uim, event_id, role)
        ) WITHOUT ROWID;
        ALTER TABLE events ADD COLUMN parent TEXT;
        UPDATE events SET parent = (SELECT u.uim FROM uims u WHERE u.event_id = events.id AND u.role = 'parent' LIMIT 1);
        INSERT INTO postings(run, uim, event_id, role) SELECT 1, uim, event_id, role FROM uims ORDER BY uim, event_id, role;
        INSERT INTO posting_runs(run, postings, level)
            SELECT 1, count(*), \(PostingIndex.levelSQL(of: "count(*)")) FROM postings WHERE run = 1 GROUP BY run;
        DROP VIEW aggregation_links;
        DROP TABLE uims;
        CREATE VIEW uims (uim, event_id, role) AS
            SELECT p.uim, p.event_id, p.role FROM posting_runs r CROSS JOIN postings p ON p.run = r.run;
        CREATE VIEW aggregation_links (parent, child, event_id, action) AS
            SELECT e.parent, c.uim, c.event_id, e.action
            FROM uims c JOIN events e ON e.id = c.event_id
            WHERE c.role IN ('child', 'class') AND e.parent IS NOT NULL
              AND e.type IN ('AggregationEvent', 'AssociationEvent')
              AND e.action IN ('ADD', 'DELETE');
        """),
        // The runs' postings packed into blocks (PostingIndex has the contract): one row per
        // ~40 postings instead of one per posting. The views keep their columns.
        Migration("0009-posting-blocks", """
        CREATE TABLE posting_blocks (
            id INTEGER PRIMARY KEY,
            run INTEGER NOT NULL,
            first_uim TEXT NOT NULL,
            postings INTEGER NOT NULL,
            data TEXT NOT NULL
        );
        CREATE UNIQUE INDEX posting_blocks_by_key ON posting_blocks(run, first_uim);
        """, then: { db in
            let runs = try db.prepare("SELECT run FROM posting_runs ORDER BY run").rows { $0.int64(0) }
            let rows = try db.prepare("SELECT uim, event_id, role FROM postings WHERE run = ? ORDER BY uim, event_id, role")
            for run in runs {
                var encoder = PostingIndex.BlockEncoder()
                try rows.bind([.integer(run)])
                while try rows.step() {
                    if let block = try encoder.add(uim: rows.text(0) ?? "", eventID: rows.int64(1), role: rows.text(2) ?? "") {
                        try PostingIndex.insert(db, block, run: run)
                    }
                }
                rows.reset()
                if let block = encoder.finish() { try PostingIndex.insert(db, block, run: run) }
            }
            try db.execute("""
                DROP VIEW aggregation_links;
                DROP VIEW uims;
                DROP TABLE postings;
                CREATE VIEW uims (uim, event_id, role) AS
                    SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]')
                    FROM posting_runs r CROSS JOIN posting_blocks b ON b.run = r.run CROSS JOIN json_each(b.data) j;
                CREATE VIEW aggregation_links (parent, child, event_id, action) AS
                    SELECT e.parent, c.uim, c.event_id, e.action
                    FROM uims c JOIN events e ON e.id = c.event_id
                    WHERE c.role IN ('child', 'class') AND e.parent IS NOT NULL
                      AND e.type IN ('AggregationEvent', 'AssociationEvent')
                      AND e.action IN ('ADD', 'DELETE');
                """)
        }),
        // Blocks become a compact binary format (PostingIndex has the contract): UIMs front
        // coded, numbers as varints, roles as one byte; about a sixth of the JSON text. Every
        // JSON block is rewritten as it is (same run and first UIM; a block that no longer
        // fits splits at a UIM change, which keeps the lookup rule). The views read blocks
        // through the SQL function `fedtrace_postings`, which every connection of the store
        // registers (`Database`); a plain `sqlite3` shell has no such function.
        Migration("0010-binary-posting-blocks", """
        DROP VIEW aggregation_links;
        DROP VIEW uims;
        CREATE VIEW uims (uim, event_id, role) AS
            SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]')
            FROM posting_runs r CROSS JOIN posting_blocks b ON b.run = r.run CROSS JOIN json_each(fedtrace_postings(b.data)) j;
        CREATE VIEW aggregation_links (parent, child, event_id, action) AS
            SELECT e.parent, c.uim, c.event_id, e.action
            FROM uims c JOIN events e ON e.id = c.event_id
            WHERE c.role IN ('child', 'class') AND e.parent IS NOT NULL
              AND e.type IN ('AggregationEvent', 'AssociationEvent')
              AND e.action IN ('ADD', 'DELETE');
        """, then: { db in try PostingIndex.convertJSONBlocks(db) }),
        // Events are indexed by a 64-bit key of their hash ID instead of a unique index on
        // the text (`EventHashKey` has the contract: the writer keeps (hash_id,
        // declares_error) unique). The unique constraint can only go with the table, so the
        // table is rebuilt with the same rows, row IDs and indexes; no table refers to
        // `events` by a foreign key, and the one view that reads it is recreated.
        Migration("0011-events-hash-key", """
        DROP VIEW aggregation_links;
        CREATE TABLE events_rebuilt (
            id INTEGER PRIMARY KEY,
            hash_id TEXT NOT NULL,
            hash_key INTEGER NOT NULL,
            declares_error INTEGER NOT NULL DEFAULT 0 CHECK (declares_error IN (0, 1)),
            type TEXT NOT NULL,
            event_time INTEGER NOT NULL,
            event_time_text TEXT NOT NULL,
            time_zone_offset TEXT NOT NULL,
            record_time INTEGER NOT NULL,
            action TEXT,
            biz_step TEXT,
            disposition TEXT,
            read_point TEXT,
            biz_location TEXT,
            origin TEXT NOT NULL,
            context_id INTEGER REFERENCES contexts(id),
            raw BLOB NOT NULL,
            retention_deadline INTEGER,
            parent TEXT
        );
        INSERT INTO events_rebuilt(id, hash_id, hash_key, declares_error, type, event_time, event_time_text, time_zone_offset,
                                   record_time, action, biz_step, disposition, read_point, biz_location, origin, context_id, raw,
                                   retention_deadline, parent)
            SELECT id, hash_id, fedtrace_hash_key(hash_id), declares_error, type, event_time, event_time_text, time_zone_offset,
                   record_time, action, biz_step, disposition, read_point, biz_location, origin, context_id, raw,
                   retention_deadline, parent
            FROM events ORDER BY id;
        DROP TABLE events;
        ALTER TABLE events_rebuilt RENAME TO events;
        CREATE INDEX events_by_hash_key ON events(hash_key);
        CREATE INDEX events_by_time ON events(event_time);
        CREATE INDEX events_by_biz_step ON events(biz_step, event_time);
        CREATE INDEX events_by_retention ON events(retention_deadline) WHERE retention_deadline IS NOT NULL;
        CREATE VIEW aggregation_links (parent, child, event_id, action) AS
            SELECT e.parent, c.uim, c.event_id, e.action
            FROM uims c JOIN events e ON e.id = c.event_id
            WHERE c.role IN ('child', 'class') AND e.parent IS NOT NULL
              AND e.type IN ('AggregationEvent', 'AssociationEvent')
              AND e.action IN ('ADD', 'DELETE');
        """),
        // Each audit record's seal: HMAC-SHA256 under the node's audit key (`AuditKey`),
        // which lives outside the database, so a chain rewritten with sqlite3 no longer
        // matches (`AuditLog` has the contract). Records from before this migration are
        // sealed by the operator's `fedtrace audit seal` (`AuditLog.sealExisting`).
        Migration("0012-audit-seals", """
        CREATE TABLE audit_seals (
            seq INTEGER PRIMARY KEY REFERENCES audit_log(seq),
            seal TEXT NOT NULL
        );
        CREATE TRIGGER audit_seals_no_update BEFORE UPDATE ON audit_seals
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_seals_no_delete BEFORE DELETE ON audit_seals
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """),
        // No schema change: from here on `events.raw` may hold packed values (`PackedEvent`:
        // marker 0x01, length, LZ block), which builds before this one would misread. Its
        // record makes those builds refuse the store ("store.migration.unknown") instead.
        // Rows written before keep their plain JSON, which reads as it is.
        Migration("0013-packed-raw", "-- events.raw: PackedEvent values from here on (Sources/Model/EPCIS/PackedEvent.swift)"),
    ])
}
