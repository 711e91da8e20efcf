package account

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/account/wire"
	"github.com/cloudkeep/cloudkeep/internal/miniotest"
)

// capturedMeta is the metadata an agent sends with a photo taken at
// capture (RFC 3339), found by source, in group.
func capturedMeta(capture, source, group string, motion bool) *wire.Meta {
	return &wire.Meta{SHA256: strings.Repeat("cd", 32), MTime: "2024-05-01T10:00:00Z", Device: "laptop", ContentType: "image/jpeg",
		CaptureTime: capture, CaptureSource: source, Group: group, Motion: motion}
}

// The capture time, its source, the group and the motion-photo mark an
// object was stored with come back in the gate's listings whichever way
// it was counted: a commit read with a HEAD, commits of a folder read
// with a listing and their grants, a multipart upload, a copy. A recount
// of a lost index finds them again: from the listing on MinIO, with a
// HEAD per object on versitygw, which lists no metadata.
func TestGate_ListsCaptureAndGroup(t *testing.T) {
	forEachServer(t, func(t *testing.T, s s3Server) {
		proxy := miniotest.NewProxy(t, s.endpoint)
		s.endpoint = proxy.Addr
		ge := newGateEnv(t, s, 30*time.Second, 0)
		d := ge.connectDevice("", "laptop")
		ctx := context.Background()
		dir := d.account + "/laptop/pictures/"
		want := map[string]*wire.Meta{
			dir + "IMG_0001.JPG":            capturedMeta("2024-01-31T14:05:00+09:00", wire.CaptureEXIF, "0123456789abcdef", true),
			dir + "IMG_0001.MOV":            capturedMeta("2024-01-31T14:05:00.25+09:00", wire.CaptureVideo, "0123456789abcdef", false),
			dir + "IMG_20240120_101500.jpg": capturedMeta("2024-01-20T10:15:00-05:00", wire.CaptureName, "fedcba9876543210", false),
			dir + "scans/scan.jpg":          capturedMeta("2024-01-15T09:30:00+01:00", wire.CaptureMTime, "00000000000000ff", false),
			dir + "copy.jpg":                capturedMeta("2023-12-24T18:00:00Z", wire.CaptureEXIF, "1111111111111111", false),
		}
		body := []byte("not really a jpeg")

		// Two puts of a folder committed together: counted from a listing.
		batch := []string{dir + "IMG_0001.JPG", dir + "IMG_20240120_101500.jpg"}
		var puts, commits []wire.Op
		for _, k := range batch {
			op := putOp(k, body)
			op.Meta = want[k]
			puts = append(puts, op)
			commits = append(commits, wire.Op{Op: wire.OpCommit, Key: k})
		}
		_, grants, _ := ge.grant(d, puts...)
		for i, r := range grants.Results {
			if code, msg := send(t, r, body, nil); code != 200 {
				t.Fatalf("PUT %s: %d %s", batch[i], code, msg)
			}
		}
		proxy.Reset()
		if _, res, _ := ge.grant(d, commits...); res.Results[0].Error != nil || res.Results[1].Error != nil {
			t.Fatalf("commits: %+v", res.Results)
		}
		if heads := proxy.CountRequests(http.MethodHead); heads != 0 {
			t.Errorf("the batch of commits cost %d HEAD, want none (counted from a listing)", heads)
		}
		// A put alone in its folder: counted with a HEAD.
		op := putOp(dir+"scans/scan.jpg", body)
		op.Meta = want[op.Key]
		r := ge.one(d, op)
		if code, msg := send(t, r, body, nil); code != 200 {
			t.Fatalf("PUT %s: %d %s", op.Key, code, msg)
		}
		if c := ge.one(d, wire.Op{Op: wire.OpCommit, Key: op.Key}); c.Error != nil {
			t.Fatalf("commit %s: %+v", op.Key, c.Error)
		}
		uploadInParts(t, ge, d, dir+"IMG_0001.MOV", body, want[dir+"IMG_0001.MOV"])
		if cp := ge.one(d, wire.Op{Op: wire.OpCopy, Source: dir + "scans/scan.jpg", Key: dir + "copy.jpg",
			Meta: want[dir+"copy.jpg"]}); cp.Error != nil {
			t.Fatalf("copy: %+v", cp.Error)
		}

		listed := func(when string) {
			t.Helper()
			l := ge.one(d, wire.Op{Op: wire.OpList, Prefix: d.account + "/"})
			if l.Error != nil || len(l.Objects) != len(want) {
				t.Fatalf("%s: list %+v, %d objects, want %d", when, l.Error, len(l.Objects), len(want))
			}
			for _, o := range l.Objects {
				w := *want[o.Key]
				w.ContentType = "" // not indexed
				if o.Meta != w {
					t.Errorf("%s: %s listed with %+v, want %+v", when, o.Key, o.Meta, w)
				}
			}
		}
		listed("as counted")
		if _, err := ge.gate.Recount(ctx, d.account); err != nil {
			t.Fatal(err)
		}
		listed("recounted")

		if err := ge.gate.store.ReplaceObjects(ctx, d.account, nil); err != nil {
			t.Fatal(err)
		}
		proxy.Reset()
		if _, err := ge.gate.Recount(ctx, d.account); err != nil {
			t.Fatal(err)
		}
		heads, wantHeads := proxy.CountRequests(http.MethodHead), 0
		if s.name == "versitygw" {
			wantHeads = len(want)
		}
		if heads != wantHeads {
			t.Errorf("recount of a lost index of %d objects: %d HEAD, want %d", len(want), heads, wantHeads)
		}
		listed("recounted from an empty index")
		if u, _ := ge.gate.Usage(ctx, d.account); u.Objects != int64(len(want)) || u.Used != int64(len(want)*len(body)) {
			t.Errorf("usage after the recount: %+v, want %d objects", u, len(want))
		}
	})
}
