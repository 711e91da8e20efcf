package account_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cloudkeep/cloudkeep/account"
	"github.com/cloudkeep/cloudkeep/account/storetest"
)

func TestSQLite_Store(t *testing.T) {
	storetest.Run(t, func(t *testing.T) account.Store {
		s, err := account.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "accounts.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestSQLite_ObjectStore(t *testing.T) {
	storetest.RunObjects(t, func(t *testing.T) account.ObjectStore {
		s, err := account.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "accounts.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
