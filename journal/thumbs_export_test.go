package journal

import "database/sql"

// DropThumbErrorForTest turns the journal at path back into schema
// version 5: thumbs without its error column.
func DropThumbErrorForTest(path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(`ALTER TABLE thumbs DROP COLUMN error;
		ALTER TABLE files DROP COLUMN freed_ns;
		DROP TABLE freed; DROP TABLE live_keys; DROP TABLE sent_daily; DROP TABLE alerts;
		PRAGMA user_version = 5`)
	return err
}
