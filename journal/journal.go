// Package journal is the agent's durable memory: which file is backed up
// under which key, and which parts of an interrupted multipart upload are
// already stored. It is a SQLite database in WAL mode; every state change is
// atomic, so a crash leaves either the old or the new state. The per-file
// writes made at the same time (Track, MarkUploading, MarkDone…) share one
// transaction, and each call returns once its change is committed.
package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// ErrNotFound is returned when the journal has no row for the request.
var ErrNotFound = errors.New("not in journal")

// State is where a file stands in its backup.
type State string

// The states of a file.
const (
	Pending   State = "pending"   // seen, not yet stored
	Uploading State = "uploading" // an upload has started
	Done      State = "done"      // stored under Key with SHA256
	Failed    State = "failed"    // the last attempt failed with LastError
	Deleted   State = "deleted"   // gone locally; the remote copy stays
	// Freed: stored, proven so, and moved to the trash by free-up: not a
	// deletion, not to be uploaded again.
	Freed State = "freed"
)

// Identity is what tells whether a file changed without reading it.
type Identity struct {
	Size  int64
	MTime time.Time
	Inode uint64
}

// Equal reports whether a and b describe the same file content.
func (a Identity) Equal(b Identity) bool {
	return a.Size == b.Size && a.MTime.Equal(b.MTime) && a.Inode == b.Inode
}

// File is one file's row.
type File struct {
	ID         int64
	Root, Path string // the watch root's name and the slash-separated path inside it
	Identity
	SHA256     string
	State      State
	Key, ETag  string
	Attempts   int
	LastError  string
	UpdatedAt  time.Time
	UploadedAt time.Time
}

// Journal is an open journal database. It is safe for concurrent use.
type Journal struct {
	db     *sql.DB
	stmt   statements
	commit *committer
}

// FileName is the journal's file name inside the state directory.
const FileName = "journal.db"

// Open opens (creating if needed) the journal at path and brings its schema
// up to date. When it fails because the running user may not write a file
// of the journal, the error names the file, its owner and the fix.
//
// The database runs in WAL mode with synchronous=NORMAL: a commit is not
// fsynced, the WAL is at checkpoints. A power cut can then lose the last
// commits, never corrupt the file. That is enough for the journal: a lost
// "done" only makes the next scan find the file unrecorded and upload it
// again (or find it stored and skip it), and a lost new row is the file the
// next scan meets again. Nothing is lost that a re-scan does not restore.
func Open(ctx context.Context, path string) (*Journal, error) {
	db, err := sqlitedb.Open(ctx, path, migrations, "foreign_keys(1)")
	if err != nil {
		if owner := ownerProblem(path); owner != nil {
			return nil, fmt.Errorf("open journal %s: %w", path, owner)
		}
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	j := &Journal{db: db}
	if err := j.stmt.prepare(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	j.commit = newCommitter(db)
	return j, nil
}

// Close waits for the writes in progress and closes the database.
func (j *Journal) Close() error {
	j.commit.close()
	j.stmt.close()
	return j.db.Close()
}

var migrations = []string{
	`CREATE TABLE files (
		id          INTEGER PRIMARY KEY,
		root        TEXT NOT NULL,
		path        TEXT NOT NULL,
		size        INTEGER NOT NULL,
		mtime_ns    INTEGER NOT NULL,
		inode       INTEGER NOT NULL,
		sha256      TEXT NOT NULL DEFAULT '',
		state       TEXT NOT NULL,
		object_key  TEXT NOT NULL DEFAULT '',
		etag        TEXT NOT NULL DEFAULT '',
		attempts    INTEGER NOT NULL DEFAULT 0,
		last_error  TEXT NOT NULL DEFAULT '',
		created_ns  INTEGER NOT NULL,
		updated_ns  INTEGER NOT NULL,
		uploaded_ns INTEGER NOT NULL DEFAULT 0,
		UNIQUE (root, path)
	);
	CREATE INDEX files_state ON files (state, updated_ns);
	CREATE INDEX files_sha256 ON files (sha256) WHERE sha256 != '';
	CREATE TABLE uploads (
		file_id    INTEGER PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
		object_key TEXT NOT NULL,
		upload_id  TEXT NOT NULL,
		part_size  INTEGER NOT NULL,
		size       INTEGER NOT NULL,
		mtime_ns   INTEGER NOT NULL,
		inode      INTEGER NOT NULL,
		started_ns INTEGER NOT NULL
	);
	CREATE TABLE parts (
		file_id INTEGER NOT NULL REFERENCES uploads (file_id) ON DELETE CASCADE,
		number  INTEGER NOT NULL,
		size    INTEGER NOT NULL,
		etag    TEXT NOT NULL,
		crc32c  TEXT NOT NULL,
		PRIMARY KEY (file_id, number)
	);`,
	// Version 2: find a renamed file by its identity.
	`CREATE INDEX files_identity ON files (inode, size);`,
	// Version 3: files that restore wrote, and the objects they came from.
	`CREATE TABLE restored (
		path        TEXT PRIMARY KEY,
		size        INTEGER NOT NULL,
		mtime_ns    INTEGER NOT NULL,
		inode       INTEGER NOT NULL,
		sha256      TEXT NOT NULL,
		source_key  TEXT NOT NULL,
		etag        TEXT NOT NULL,
		restored_ns INTEGER NOT NULL
	);
	CREATE INDEX restored_sha256 ON restored (sha256);`,
	// Version 4: a multipart upload keeps the file's hashes, sent at its start.
	`ALTER TABLE uploads ADD COLUMN sha256 TEXT NOT NULL DEFAULT '';
	ALTER TABLE uploads ADD COLUMN crc32c TEXT NOT NULL DEFAULT '';`,
	// Version 5: capture time and group of a stored file; which object
	// key a file holds (two files never share one); thumbnails made, by
	// content.
	`ALTER TABLE files ADD COLUMN capture TEXT NOT NULL DEFAULT '';
	ALTER TABLE files ADD COLUMN capture_source TEXT NOT NULL DEFAULT '';
	ALTER TABLE files ADD COLUMN group_id TEXT NOT NULL DEFAULT '';
	CREATE INDEX files_object_key ON files (object_key) WHERE object_key != '';
	CREATE TABLE thumbs (
		sha256   TEXT PRIMARY KEY,
		key      TEXT NOT NULL,
		made_ns  INTEGER NOT NULL
	);`,
	// Version 6: a photo whose thumbnail cannot be made is recorded with
	// why (and no key), so it is tried once per content.
	`ALTER TABLE thumbs ADD COLUMN error TEXT NOT NULL DEFAULT '';`,
	// Version 7: the key index covers every row. As a partial index
	// (object_key != '') SQLite prepared the key lookup again for every
	// key it was given, before each upload.
	`DROP INDEX files_object_key;
	CREATE INDEX files_object_key ON files (object_key);`,
	// Version 8: when free-up moved a stored file to the trash, and the
	// backups of the files it freed, kept live even once another file
	// takes the row (freed); the keys live on this device over time, for
	// its manifest; bytes sent per local day (rules.daily_cap); the
	// alerts open, and which receivers have yet to be told.
	`ALTER TABLE files ADD COLUMN freed_ns INTEGER NOT NULL DEFAULT 0;
	CREATE TABLE freed (
		key         TEXT PRIMARY KEY,
		file_id     INTEGER NOT NULL,
		size        INTEGER NOT NULL,
		sha256      TEXT NOT NULL,
		uploaded_ns INTEGER NOT NULL,
		freed_ns    INTEGER NOT NULL
	);
	CREATE TABLE live_keys (
		key     TEXT NOT NULL,
		size    INTEGER NOT NULL,
		sha256  TEXT NOT NULL,
		from_ns INTEGER NOT NULL,
		to_ns   INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (key, from_ns)
	);
	CREATE INDEX live_keys_open ON live_keys (to_ns, key);
	CREATE TABLE sent_daily (
		day   TEXT PRIMARY KEY,
		bytes INTEGER NOT NULL
	);
	CREATE TABLE alerts (
		cause       TEXT PRIMARY KEY,
		subject     TEXT NOT NULL,
		detail      TEXT NOT NULL DEFAULT '',
		opened_ns   INTEGER NOT NULL,
		told_ns     INTEGER NOT NULL DEFAULT 0,
		resolved_ns INTEGER NOT NULL DEFAULT 0,
		unsent      TEXT NOT NULL DEFAULT ''
	);`,
}

// tx runs fn in one transaction, committing when it returns nil.
func (j *Journal) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
