package account

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cloudkeep/cloudkeep/account/wire"
)

func TestCheckKey(t *testing.T) {
	for _, tc := range []struct {
		key    string
		prefix bool
		want   string // error code, "" for allowed
	}{
		{"12/laptop/a.jpg", false, ""},
		{"12/a b/ü €.jpg", false, ""},
		{"12/100%2eok.jpg", false, ""},
		{"12/", true, ""},
		{"12/laptop/", true, ""},
		{"12", true, wire.ErrCodeAccessDenied},
		{"123/a.jpg", false, wire.ErrCodeAccessDenied},
		{"1/a.jpg", false, wire.ErrCodeAccessDenied},
		{"12/../123/a.jpg", false, wire.ErrCodeAccessDenied},
		{"12/%2e%2e/123/a.jpg", false, wire.ErrCodeAccessDenied},
		{"12/%2E%2e/123/", true, wire.ErrCodeAccessDenied},
		{"12/./a.jpg", false, wire.ErrCodeAccessDenied},
		{"12//a.jpg", false, wire.ErrCodeAccessDenied},
		{"12/a/", false, wire.ErrCodeAccessDenied},
		{"12/", false, wire.ErrCodeAccessDenied},
		{"/12/a.jpg", false, wire.ErrCodeAccessDenied},
		{"", false, wire.ErrCodeInvalidOp},
		{"", true, wire.ErrCodeInvalidOp},
		{"12/a\x00.jpg", false, wire.ErrCodeInvalidOp},
		{"12/a\n.jpg", false, wire.ErrCodeInvalidOp},
		{"12/a\u0085.jpg", false, wire.ErrCodeInvalidOp},
		{"12/a\xff.jpg", false, wire.ErrCodeInvalidOp},
		{"12/" + string(bytes.Repeat([]byte{'x'}, 1022)), false, wire.ErrCodeInvalidOp},
	} {
		got := ""
		if e := checkKey("12", tc.key, tc.prefix); e != nil {
			got = e.Code
		}
		if got != tc.want {
			t.Errorf("checkKey(12, %q, prefix %v) = %q, want %q", tc.key, tc.prefix, got, tc.want)
		}
	}
}

// TestGate_Isolation: account 12 can neither get a grant for, nor reach
// with a grant, anything of account 123 (whose ID it is a prefix of).
func TestGate_Isolation(t *testing.T) {
	forEachServer(t, func(t *testing.T, s s3Server) {
		ge := newGateEnv(t, s, 30*time.Second, 0)
		a := ge.connectDevice("12", "laptop")
		b := ge.connectDevice("123", "phone")
		bKey := "123/phone/b.jpg"
		bBody := []byte("bob's photo")
		ge.putObject(b, bKey, bBody)
		bUp := ge.one(b, wire.Op{Op: wire.OpCreate, Key: "123/phone/big.mp4", Size: 10 << 20})
		if bUp.Error != nil {
			t.Fatal(bUp.Error)
		}
		bPart := []byte("part one of bob")
		bParts, _, _ := ge.grant(b, wire.Op{Op: wire.OpPart, Key: "123/phone/big.mp4", UploadID: bUp.UploadID, Part: 1, Size: int64(len(bPart)), CRC32C: crc32cOf(bPart)})
		if bParts != 200 {
			t.Fatal("grant of bob's part refused")
		}

		denied := wire.ErrCodeAccessDenied
		body := []byte("mallory")
		cases := []struct {
			name string
			op   wire.Op
			want string
		}{
			{"get B's key", wire.Op{Op: wire.OpGet, Key: bKey}, denied},
			{"get ../", wire.Op{Op: wire.OpGet, Key: "12/../" + bKey}, denied},
			{"get %2e%2e/", wire.Op{Op: wire.OpGet, Key: "12/%2e%2e/" + bKey}, denied},
			{"get empty key", wire.Op{Op: wire.OpGet, Key: ""}, wire.ErrCodeInvalidOp},
			{"stat B's key", wire.Op{Op: wire.OpStat, Key: bKey}, denied},
			{"stat ../", wire.Op{Op: wire.OpStat, Key: "12/../" + bKey}, denied},
			{"put B's key", wire.Op{Op: wire.OpPut, Key: bKey, Size: 7, CRC32C: crc32cOf(body)}, denied},
			{"put ../", wire.Op{Op: wire.OpPut, Key: "12/../" + bKey, Size: 7, CRC32C: crc32cOf(body)}, denied},
			{"put %2e%2e/", wire.Op{Op: wire.OpPut, Key: "12/%2e%2e/" + bKey, Size: 7, CRC32C: crc32cOf(body)}, denied},
			{"put prefix of B's ID", wire.Op{Op: wire.OpPut, Key: "12" + "3/phone/c.jpg", Size: 7, CRC32C: crc32cOf(body)}, denied},
			{"commit B's key", wire.Op{Op: wire.OpCommit, Key: bKey}, denied},
			{"create in B", wire.Op{Op: wire.OpCreate, Key: "123/phone/x.mp4", Size: 100}, denied},
			{"part of B's upload", wire.Op{Op: wire.OpPart, Key: "123/phone/big.mp4", UploadID: bUp.UploadID, Part: 2, Size: 7, CRC32C: crc32cOf(body)}, denied},
			{"part of B's upload id on A's key", wire.Op{Op: wire.OpPart, Key: "12/phone/big.mp4", UploadID: bUp.UploadID, Part: 2, Size: 7, CRC32C: crc32cOf(body)}, wire.ErrCodeNoSuchUpload},
			{"list_parts of B's upload", wire.Op{Op: wire.OpListParts, Key: "123/phone/big.mp4", UploadID: bUp.UploadID}, denied},
			{"list_parts of B's upload id on A's key", wire.Op{Op: wire.OpListParts, Key: "12/phone/big.mp4", UploadID: bUp.UploadID}, wire.ErrCodeNoSuchUpload},
			{"complete B's upload", wire.Op{Op: wire.OpComplete, Key: "123/phone/big.mp4", UploadID: bUp.UploadID, Parts: []wire.Part{{Number: 1, ETag: "x"}}}, denied},
			{"abort B's upload", wire.Op{Op: wire.OpAbort, Key: "123/phone/big.mp4", UploadID: bUp.UploadID}, denied},
			// MinIO answers an abort of an upload the key does not have with success.
			{"abort B's upload id on A's key", wire.Op{Op: wire.OpAbort, Key: "12/phone/big.mp4", UploadID: bUp.UploadID}, "no_such_upload or nothing"},
			{"list_uploads of B", wire.Op{Op: wire.OpListUploads, Prefix: "123/"}, denied},
			{"list_uploads of prefix 12", wire.Op{Op: wire.OpListUploads, Prefix: "12"}, denied},
			{"list_uploads of the bucket", wire.Op{Op: wire.OpListUploads, Prefix: ""}, wire.ErrCodeInvalidOp},
			{"list B", wire.Op{Op: wire.OpList, Prefix: "123/"}, denied},
			{"list prefix 12", wire.Op{Op: wire.OpList, Prefix: "12"}, denied},
			{"list ../", wire.Op{Op: wire.OpList, Prefix: "12/../123/"}, denied},
			{"list %2e%2e/", wire.Op{Op: wire.OpList, Prefix: "12/%2e%2e/"}, denied},
			{"list after B's key", wire.Op{Op: wire.OpList, Prefix: "12/", After: bKey}, wire.ErrCodeInvalidOp},
			{"delete B's key (the gate never deletes)", wire.Op{Op: "delete", Key: bKey}, wire.ErrCodeInvalidOp},
			{"copy from B", wire.Op{Op: wire.OpCopy, Source: bKey, Key: "12/laptop/stolen.jpg"}, denied},
			{"copy from B via ../", wire.Op{Op: wire.OpCopy, Source: "12/../" + bKey, Key: "12/laptop/stolen.jpg"}, denied},
			{"copy into B", wire.Op{Op: wire.OpCopy, Source: "12/laptop/a.jpg", Key: "123/phone/b.jpg"}, denied},
		}
		ops := make([]wire.Op, len(cases))
		for i, c := range cases {
			ops[i] = c.op
		}
		code, res, bad := ge.grant(a, ops...)
		if code != 200 {
			t.Fatalf("grant: %d %+v", code, bad)
		}
		for i, c := range cases {
			got := ""
			if e := res.Results[i].Error; e != nil {
				got = e.Code
			}
			if got != c.want && !(c.want == "no_such_upload or nothing" && (got == "" || got == wire.ErrCodeNoSuchUpload)) {
				t.Errorf("%s: got %q (%+v), want %q", c.name, got, res.Results[i].Error, c.want)
			}
			if c.want != "" && c.want != "no_such_upload or nothing" && res.Results[i].URL != "" {
				t.Errorf("%s: refused with a URL %s", c.name, res.Results[i].URL)
			}
		}
		// A URL granted to A for A's key does not reach B's object when the
		// path is changed: the signature covers it.
		g := ge.one(a, wire.Op{Op: wire.OpGet, Key: "12/laptop/a.jpg"})
		g.URL = replaceOnce(g.URL, "/12/laptop/a.jpg", "/"+bKey)
		if code, got := send(t, g, nil, nil); code == 200 {
			t.Errorf("A's URL edited to B's key read %q", got)
		}

		if got := ge.adminGet(bKey); !bytes.Equal(got, bBody) {
			t.Errorf("B's object changed: %q", got)
		}
		parts, err := ge.s3.admin.ListObjects(context.Background(), ge.s3.bucket, minio.ListObjectsOptions{Prefix: "12", Recursive: true}), error(nil)
		for o := range parts {
			if o.Err != nil {
				err = o.Err
				break
			}
			if o.Key[:3] == "12/" {
				t.Errorf("an object landed under A's prefix: %s", o.Key)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		lp := ge.one(b, wire.Op{Op: wire.OpListParts, Key: "123/phone/big.mp4", UploadID: bUp.UploadID})
		if lp.Error != nil {
			t.Errorf("B's upload was harmed: %+v", lp.Error)
		}
	})
}

func replaceOnce(s, old, repl string) string {
	i := bytes.Index([]byte(s), []byte(old))
	if i < 0 {
		return s
	}
	return s[:i] + repl + s[i+len(old):]
}
