# How the events table's hash-ID index choice was measured (docs/performance.md, eighth session).
# Usage: python3 hash-id-index.py text|blob|int SOURCE_STORE SCRATCH_DB
#   SOURCE_STORE: a fedtrace.sqlite with captured events (e.g. from `fedtrace gen` + `capture`);
#   SCRATCH_DB: a path it may delete and rewrite. Prints seconds and bytes written.
import sqlite3, sys, time, os
src = sqlite3.connect(sys.argv[2])
rows = src.execute("SELECT hash_id, declares_error, type, event_time, event_time_text, time_zone_offset, record_time, action, biz_step, disposition, read_point, biz_location, origin, raw FROM events ORDER BY id").fetchall()
variant = sys.argv[1]
path = sys.argv[3]
for f in [path, path+'-wal', path+'-shm']:
    if os.path.exists(f): os.remove(f)
db = sqlite3.connect(path, isolation_level=None)
db.execute('PRAGMA page_size=16384'); db.execute('PRAGMA journal_mode=WAL'); db.execute('PRAGMA synchronous=FULL'); db.execute('PRAGMA cache_size=-65536')
key = {'text': 'UNIQUE(hash_id, declares_error)', 'blob': 'UNIQUE(digest, declares_error)', 'int': ''}[variant]
db.execute(f"""CREATE TABLE events (id INTEGER PRIMARY KEY, hash_id TEXT NOT NULL, digest BLOB, hkey INTEGER, declares_error INTEGER NOT NULL, type TEXT NOT NULL, event_time INTEGER NOT NULL,
 event_time_text TEXT NOT NULL, time_zone_offset TEXT NOT NULL, record_time INTEGER NOT NULL, action TEXT, biz_step TEXT, disposition TEXT, read_point TEXT, biz_location TEXT, origin TEXT NOT NULL, raw BLOB NOT NULL {',' + key if key else ''})""")
db.execute('CREATE INDEX events_by_time ON events(event_time)'); db.execute('CREATE INDEX events_by_biz_step ON events(biz_step, event_time)')
if variant == 'int': db.execute('CREATE INDEX events_by_hkey ON events(hkey)')
t = time.time()
for b in range(0, len(rows), 10000):
    db.execute('BEGIN')
    for r in rows[b:b+10000]:
        h = bytes.fromhex(r[0][14:78])
        k = int.from_bytes(h[:8], 'big', signed=True)
        if variant == 'text':
            db.execute('INSERT INTO events(hash_id, declares_error, type, event_time, event_time_text, time_zone_offset, record_time, action, biz_step, disposition, read_point, biz_location, origin, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(hash_id, declares_error) DO NOTHING', r)
        elif variant == 'blob':
            db.execute('INSERT INTO events(hash_id, digest, declares_error, type, event_time, event_time_text, time_zone_offset, record_time, action, biz_step, disposition, read_point, biz_location, origin, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(digest, declares_error) DO NOTHING', (r[0], h) + r[1:])
        else:
            if db.execute('SELECT 1 FROM events WHERE hkey = ? AND hash_id = ? AND declares_error = ?', (k, r[0], r[1])).fetchone() is None:
                db.execute('INSERT INTO events(hash_id, hkey, declares_error, type, event_time, event_time_text, time_zone_offset, record_time, action, biz_step, disposition, read_point, biz_location, origin, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)', (r[0], k) + r[1:])
    db.execute('COMMIT')
el = time.time() - t
io = open(f'/proc/{os.getpid()}/io').read().split('\n')
wb = [l for l in io if l.startswith('write_bytes')][0]
print(variant, f'{el:.2f}s', wb)
