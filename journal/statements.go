package journal

import (
	"context"
	"database/sql"
	"errors"
)

// statements are the journal's per-file queries, prepared once at Open:
// SQLite then parses each once, not on every call. Inside a transaction
// they run through tx.StmtContext.
type statements struct {
	lookup, track                         *sql.Stmt
	markDone, forgetUpload                *sql.Stmt
	markUploading, markFailed, markDelete *sql.Stmt
	findContent, hasUpload, snapshot      *sql.Stmt
	keyHeld, ownKey                       *sql.Stmt
}

func (s *statements) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.lookup, `SELECT ` + fileColumns + ` FROM files WHERE root = ? AND path = ?`},
		{&s.track, trackSQL},
		{&s.markDone, markDoneSQL},
		{&s.forgetUpload, `DELETE FROM uploads WHERE file_id = ?`},
		{&s.markUploading, `UPDATE files SET state = ?, attempts = attempts + 1, updated_ns = ? WHERE id = ?`},
		{&s.markFailed, `UPDATE files SET state = ?, last_error = ?, updated_ns = ? WHERE id = ?`},
		{&s.markDelete, `UPDATE files SET state = ?, updated_ns = ? WHERE id = ?`},
		{&s.findContent, findContentSQL},
		{&s.hasUpload, `SELECT 1 FROM uploads WHERE file_id = ?`},
		{&s.keyHeld, keyHeldSQL},
		{&s.ownKey, `SELECT CASE WHEN uploaded_ns >= created_ns THEN object_key ELSE '' END FROM files WHERE id = ?`},
		{&s.snapshot, `SELECT id, path, state, size, mtime_ns, inode FROM files
			WHERE root = ? AND path > ? AND state != ? ORDER BY path LIMIT ?`},
	} {
		var err error
		if *p.stmt, err = db.PrepareContext(ctx, p.sql); err != nil {
			s.close()
			return err
		}
	}
	return nil
}

func (s *statements) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.lookup, s.track, s.markDone, s.forgetUpload,
		s.markUploading, s.markFailed, s.markDelete, s.findContent, s.hasUpload, s.snapshot, s.keyHeld, s.ownKey} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}
