package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// The control API, served on a unix socket only the agent's user can open:
//
//	GET  /v1/status  Status as JSON
//	POST /v1/pause   stop uploading (watching goes on)
//	POST /v1/resume  upload again
//	POST /v1/repair  queue files again (JSON RepairRequest; answers RepairResult)
//	POST /v1/verify  run a light verify once the queue is idle

// ErrNotRunning means no agent answers on the control socket.
var ErrNotRunning = errors.New("the agent is not running")

// listen opens the control socket with mode 0600. A socket another agent
// answers on means this one must not start; a dead one is replaced.
func (a *Agent) listen() (net.Listener, error) {
	if _, err := NewClient(a.Socket).Status(context.Background()); err == nil {
		return nil, fmt.Errorf("another cloudkeep agent is running (control socket %s)", a.Socket)
	}
	if err := os.MkdirAll(filepath.Dir(a.Socket), 0o700); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	os.Remove(a.Socket)
	l, err := net.Listen("unix", a.Socket)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(a.Socket, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return l, nil
}

func serveControl(ctx context.Context, l net.Listener, a *Agent) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(a.Status())
	})
	mux.HandleFunc("POST /v1/pause", func(w http.ResponseWriter, r *http.Request) { a.Pause() })
	mux.HandleFunc("POST /v1/resume", func(w http.ResponseWriter, r *http.Request) { a.Resume() })
	mux.HandleFunc("POST /v1/verify", func(w http.ResponseWriter, r *http.Request) { a.verifyAgain() })
	mux.HandleFunc("POST /v1/repair", func(w http.ResponseWriter, r *http.Request) {
		var req RepairRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<20)).Decode(&req); err != nil {
			http.Error(w, "bad repair request: "+err.Error(), http.StatusBadRequest)
			return
		}
		res, err := a.Repair(r.Context(), req.Files)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(res)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	err := srv.Serve(l)
	os.Remove(l.Addr().String())
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Client talks to a running agent.
type Client struct {
	socket string
	http   *http.Client
}

// NewClient returns a client for the agent listening on socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &Client{socket: socket, http: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
}

// Status asks the agent for its status; ErrNotRunning when none answers.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.do(ctx, http.MethodGet, "/v1/status", &s)
	return s, err
}

// Pause stops the agent's uploads.
func (c *Client) Pause(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/pause", nil)
}

// Resume restarts the agent's uploads.
func (c *Client) Resume(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/resume", nil)
}

// Verify asks the agent for a light verify once its queue is idle, so that
// its status drops findings mended since its last one.
func (c *Client) Verify(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/verify", nil)
}

// RepairRequest is the body of POST /v1/repair.
type RepairRequest struct {
	Files []RepairFile `json:"files"`
}

// Repair asks the agent to upload the files again now.
func (c *Client) Repair(ctx context.Context, files []RepairFile) (RepairResult, error) {
	var res RepairResult
	body, err := json.Marshal(RepairRequest{Files: files})
	if err != nil {
		return res, err
	}
	err = c.send(ctx, http.MethodPost, "/v1/repair", bytes.NewReader(body), &res)
	return res, err
}

func (c *Client) do(ctx context.Context, method, path string, out any) error {
	return c.send(ctx, method, path, nil, out)
}

func (c *Client) send(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://agent"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return ErrNotRunning
		}
		if errors.Is(err, syscall.EACCES) {
			return fmt.Errorf("cannot open the agent's control socket %s: permission denied (run as the agent's user)", c.socket)
		}
		return fmt.Errorf("ask the agent: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("agent answered %s: %s", resp.Status, b)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
