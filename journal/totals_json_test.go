package journal

import (
	"encoding/json"
	"testing"
)

// Totals encode with lower-case keys, like the rest of the JSON status.
func TestTotals_JSON(t *testing.T) {
	b, err := json.Marshal(Totals{Deleted: {Files: 1, Bytes: 41943040}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"deleted":{"files":1,"bytes":41943040}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
