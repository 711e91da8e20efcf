package cli

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/agent"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A secret key the storage refuses is reported as soon as the agent
// starts, by its one start request: in the log and in the status, before
// any file fails.
func TestRun_RefusedCredentialsAtStart(t *testing.T) {
	s := miniotest.Start(t)
	path := writeAgentConfig(t, s.Endpoint)
	data, _ := os.ReadFile(path)
	text := strings.NewReplacer("access_key: key", "access_key: "+s.AccessKey, "secret_key: secret-secret", "secret_key: not-the-secret-key").Replace(string(data))
	os.WriteFile(path, []byte(text+"log:\n  format: json\n"), 0o600)
	cfg, err := (&globals{configPath: path}).loadConfig()
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	done := make(chan int)
	go func() { done <- mainWith(ctx, []string{"run", "--config", path}, &stdout, &stderr) }()
	defer func() { cancel(); <-done }()

	const want = "storage refused the credentials: SignatureDoesNotMatch ("
	var st agent.Status
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err = agent.NewClient(cfg.Control.Socket).Status(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no status after 20 s: %v; stderr:\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.HasPrefix(st.StorageProblem, want) || !strings.HasSuffix(st.StorageProblem, "): check storage.credentials.access_key and the secret key") {
		t.Errorf("status storage_problem: got %q, want %q…", st.StorageProblem, want)
	}
	var out bytes.Buffer
	printStatus(&out, st, time.Now())
	if !strings.Contains(out.String(), "\n"+want) {
		t.Errorf("status text lacks %q:\n%s", want, out.String())
	}
	if log := stderr.String(); !strings.Contains(log, `"level":"error"`) || !strings.Contains(log, `"message":"`+want) {
		t.Errorf("log: want an error line %q…:\n%s", want, log)
	}
}
