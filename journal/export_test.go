package journal

import (
	"database/sql"
	"fmt"
	"strings"
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

// FindContentPlanForTest returns SQLite's plan of FindContent's query.
func (j *Journal) FindContentPlanForTest() (string, error) {
	rows, err := j.db.Query("EXPLAIN QUERY PLAN "+findContentSQL, "a", 1, "k", 1, "a", Done, Deleted)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "\n"), rows.Err()
}

// CommitsForTest returns how many transactions the group commit committed.
func (j *Journal) CommitsForTest() int64 { return j.commit.count.Load() }
