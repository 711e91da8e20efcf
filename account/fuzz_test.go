package account

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// memSender keeps messages in memory: enough for fuzzing the handlers.
type memSender struct {
	mu   sync.Mutex
	last string
}

func (m *memSender) Send(_ context.Context, _, _, text string) error {
	m.mu.Lock()
	m.last = text
	m.mu.Unlock()
	return nil
}

var apiPaths = []string{"/api/v1/signup", "/api/v1/signup/verify", "/api/v1/signup/resend", "/api/v1/signup/password",
	"/api/v1/signin", "/api/v1/signin/verify", "/api/v1/device/authorize", "/api/v1/token", "/api/v1/revoke"}

// FuzzAPI posts arbitrary bodies to every JSON endpoint: the answer is
// never a 500 and always JSON with an error code or a result.
func FuzzAPI(f *testing.F) {
	for i, seed := range []string{
		`{"email":"a@example.com","region":"DE","birth_date":"1990-04-01"}`,
		`{"signup_id":"x","pin":"123456"}`, `{"signup_id":"x"}`,
		`{"signup_id":"x","password":"goodpass1","confirm":"goodpass1"}`,
		`{"username":"a@example.com","password":"x"}`,
		`{"challenge_id":"x","code":"1","client_id":"cloudkeep-agent","device_name":"d"}`,
		`{"client_id":"cloudkeep-agent","device_name":"laptop"}`,
		`{"grant_type":"refresh_token","client_id":"cloudkeep-agent","refresh_token":"x"}`,
		`{"token":"x"}`,
	} {
		f.Add(uint8(i), seed)
		f.Add(uint8(i), `{"dial_code":"+\u0000","phone":"`+strings.Repeat("9", 40)+`","region":"DE","birth_date":"0000-00-00"}`)
	}
	dir := f.TempDir()
	store, err := OpenSQLite(context.Background(), filepath.Join(dir, "accounts.db"))
	if err != nil {
		f.Fatal(err)
	}
	keys, err := OpenKeys(context.Background(), store, make([]byte, 32), dir, 15*time.Minute, zerolog.Nop())
	if err != nil {
		f.Fatal(err)
	}
	mem := &memSender{}
	svc := NewService(store, keys, Delivery{Email: mem, SMS: mem}, Config{Issuer: "http://127.0.0.1", ClientID: "cloudkeep-agent",
		MinAge: 13, AccessTTL: time.Minute * 15, RefreshTTL: time.Hour}, make([]byte, 32), zerolog.Nop())
	h := NewHandler(svc, zerolog.Nop())
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		path := apiPaths[int(which)%len(apiPaths)]
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusBadGateway {
			t.Fatalf("%s %q: status %d: %s", path, body, rec.Code, rec.Body)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out) == 0 {
			t.Fatalf("%s %q: not a JSON object: %s", path, body, rec.Body)
		}
	})
}
