package journal

import (
	"database/sql"
	"fmt"
)

// SetUserVersionForTest sets the schema version of the journal at path.
func SetUserVersionForTest(path string, v int) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(fmt.Sprintf("PRAGMA user_version = %d", v))
	return err
}
