package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/sqlitedb"
)

// Multipart is an in-flight multipart upload of one file.
type Multipart struct {
	FileID   int64
	Key      string
	UploadID string
	PartSize int64
	Identity        // the file as it was when the upload started
	SHA256   string // hex SHA-256 of the whole file, stored with the object at its start
	CRC32C   string // base64 full-object CRC32C of the whole file; the parts must add up to it
	Started  time.Time
	Parts    []Part // finished parts, by number
}

// Part is one finished part of a multipart upload.
type Part struct {
	Number int
	Size   int64
	ETag   string
	CRC32C string // base64 of the big-endian CRC32C, as S3 spells it
}

// Multipart returns file id's in-flight upload with its finished parts, or
// ErrNotFound. The upload and its parts are read in one transaction, so they
// always belong together.
func (j *Journal) Multipart(ctx context.Context, fileID int64) (Multipart, error) {
	// Most files have no upload in flight: one prepared query says so.
	var one int
	err := j.stmt.hasUpload.QueryRowContext(ctx, fileID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return Multipart{}, ErrNotFound
	}
	if err != nil {
		return Multipart{}, fmt.Errorf("read upload of file %d: %w", fileID, err)
	}
	var m Multipart
	err = j.tx(ctx, func(tx *sql.Tx) error {
		var err error
		m, err = readMultipart(ctx, tx, fileID)
		return err
	})
	return m, err
}

func readMultipart(ctx context.Context, tx *sql.Tx, fileID int64) (Multipart, error) {
	m := Multipart{FileID: fileID}
	var mtime, started int64
	err := tx.QueryRowContext(ctx, `SELECT object_key, upload_id, part_size, size, mtime_ns,
		inode, sha256, crc32c, started_ns FROM uploads WHERE file_id = ?`, fileID).
		Scan(&m.Key, &m.UploadID, &m.PartSize, &m.Size, &mtime, &m.Inode, &m.SHA256, &m.CRC32C, &started)
	if errors.Is(err, sql.ErrNoRows) {
		return Multipart{}, ErrNotFound
	}
	if err != nil {
		return Multipart{}, fmt.Errorf("read upload of file %d: %w", fileID, err)
	}
	m.MTime, m.Started = sqlitedb.Time(mtime), sqlitedb.Time(started)
	rows, err := tx.QueryContext(ctx, `SELECT number, size, etag, crc32c FROM parts
		WHERE file_id = ? ORDER BY number`, fileID)
	if err != nil {
		return Multipart{}, fmt.Errorf("read parts of file %d: %w", fileID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p Part
		if err := rows.Scan(&p.Number, &p.Size, &p.ETag, &p.CRC32C); err != nil {
			return Multipart{}, fmt.Errorf("read parts of file %d: %w", fileID, err)
		}
		m.Parts = append(m.Parts, p)
	}
	if err := rows.Err(); err != nil {
		return Multipart{}, fmt.Errorf("read parts of file %d: %w", fileID, err)
	}
	return m, nil
}

// BeginMultipart records a new upload for the file, replacing any earlier
// one and its parts.
func (j *Journal) BeginMultipart(ctx context.Context, m Multipart) error {
	return j.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM uploads WHERE file_id = ?`, m.FileID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO uploads (file_id, object_key, upload_id,
			part_size, size, mtime_ns, inode, sha256, crc32c, started_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.FileID, m.Key, m.UploadID, m.PartSize, m.Size, sqlitedb.Nanos(m.MTime), m.Inode, m.SHA256, m.CRC32C,
			sqlitedb.Nanos(m.Started))
		if err != nil {
			return fmt.Errorf("record upload %s: %w", m.Key, err)
		}
		return nil
	})
}

// SavePart records a finished part.
func (j *Journal) SavePart(ctx context.Context, fileID int64, p Part) error {
	_, err := j.db.ExecContext(ctx, `INSERT OR REPLACE INTO parts (file_id, number, size, etag, crc32c)
		VALUES (?, ?, ?, ?, ?)`, fileID, p.Number, p.Size, p.ETag, p.CRC32C)
	if err != nil {
		return fmt.Errorf("record part %d of file %d: %w", p.Number, fileID, err)
	}
	return nil
}

// EndMultipart forgets file id's upload and its parts.
func (j *Journal) EndMultipart(ctx context.Context, fileID int64) error {
	if _, err := j.db.ExecContext(ctx, `DELETE FROM uploads WHERE file_id = ?`, fileID); err != nil {
		return fmt.Errorf("forget upload of file %d: %w", fileID, err)
	}
	return nil
}

// DeletedUploads returns the uploads in flight of files marked deleted:
// they will never complete, and are to be aborted (then EndMultipart).
func (j *Journal) DeletedUploads(ctx context.Context) ([]Multipart, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT u.file_id, u.object_key, u.upload_id
		FROM uploads u JOIN files f ON f.id = u.file_id WHERE f.state = ?`, Deleted)
	if err != nil {
		return nil, fmt.Errorf("list uploads of deleted files: %w", err)
	}
	defer rows.Close()
	var out []Multipart
	for rows.Next() {
		var m Multipart
		if err := rows.Scan(&m.FileID, &m.Key, &m.UploadID); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// UploadIDs returns the upload ids of every in-flight upload, by object key.
func (j *Journal) UploadIDs(ctx context.Context) (map[string]string, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT upload_id, object_key FROM uploads`)
	if err != nil {
		return nil, fmt.Errorf("list uploads: %w", err)
	}
	defer rows.Close()
	ids := map[string]string{}
	for rows.Next() {
		var id, key string
		if err := rows.Scan(&id, &key); err != nil {
			return nil, err
		}
		ids[id] = key
	}
	return ids, rows.Err()
}
