package account

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cloudkeep/cloudkeep/internal/pgtest"
)

// A replica with another public URL than a running one is refused and
// recorded nowhere; once the running one has stopped cleanly, or is no
// longer seen, a replica with a new URL takes over and says so.
func TestJoinReplicas_IssuerMustAgree(t *testing.T) {
	for _, s := range []struct {
		name string
		open func(t *testing.T) (Store, error)
	}{
		{"sqlite", func(t *testing.T) (Store, error) {
			return OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "accounts.db"))
		}},
		{"postgres", func(t *testing.T) (Store, error) { return OpenPostgres(context.Background(), pgtest.DB(t), "") }},
	} {
		t.Run(s.name, func(t *testing.T) {
			store, err := s.open(t)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			testJoinReplicas(t, store)
		})
	}
}

func testJoinReplicas(t *testing.T, store Store) {
	ctx := context.Background()
	logs := &syncBuffer{}
	log := zerolog.New(logs)
	a, err := JoinReplicas(ctx, store, "host-a 127.0.0.1:8080", "https://a.example", log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := JoinReplicas(ctx, store, "host-b 127.0.0.1:8080", "https://a.example", log); err != nil {
		t.Errorf("a second replica with the same public URL: %v", err)
	}
	_, err = JoinReplicas(ctx, store, "host-c 127.0.0.1:8080", "https://b.example", log)
	want := "https://b.example differs from https://a.example, which the other replicas on this database use: set the same public_url on every replica"
	if c, ok := errors.AsType[*IssuerConflictError](err); !ok || err.Error() != want {
		t.Fatalf("another public URL while A and B run: %v (%T), want %q", err, c, want)
	}
	all, _ := store.Replicas(ctx)
	if len(all) != 2 {
		t.Errorf("replicas recorded after the refusal: %+v, want A and B", all)
	}

	// A stops cleanly; B was last seen longer ago than replicaRecent.
	if err := a.Leave(); err != nil {
		t.Fatal(err)
	}
	if err := store.PutReplica(ctx, Replica{Name: "host-b 127.0.0.1:8080", Issuer: "https://a.example", Seen: time.Now().Add(-replicaRecent - time.Second)}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	c, err := JoinReplicas(ctx, store, "host-c 127.0.0.1:8080", "https://b.example", log)
	if err != nil {
		t.Fatalf("a new public URL once no replica runs with the old one: %v", err)
	}
	if !strings.Contains(logs.String(), `"level":"warn","component":"replicas","public_url":"https://b.example","was":"https://a.example"`) {
		t.Errorf("no warning of the change in the log:\n%s", logs)
	}
	if err := c.beat(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = JoinReplicas(ctx, store, "host-a 127.0.0.1:8080", "https://a.example", log)
	if want := "https://a.example differs from https://b.example, which the other replicas on this database use: set the same public_url on every replica"; err == nil || err.Error() != want {
		t.Errorf("A back with the old URL while C runs: %v, want %q", err, want)
	}
}
