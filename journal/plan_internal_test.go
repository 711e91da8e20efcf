package journal

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// KeyHeld runs before every upload: it must find the key through the
// index, not read every row (with 2,000 files it took a sixth of a small
// photo backup's CPU).
func TestKeyHeld_UsesIndex(t *testing.T) {
	ctx := context.Background()
	j, err := Open(ctx, filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rows, err := j.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+keyHeldSQL, "alice/2024/01/IMG_1.JPG", 1, "ab")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	for _, step := range plan {
		if strings.HasPrefix(step, "SCAN files") {
			t.Errorf("KeyHeld reads every file: %q", plan)
		}
	}
	if !strings.Contains(strings.Join(plan, "\n"), "files_object_key") {
		t.Errorf("KeyHeld does not use files_object_key: %q", plan)
	}
}
