package cli

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudkeep/cloudkeep/internal/servicetmpl"
)

// A config path no shell or XML may mangle.
const awkwardConfig = `/srv/my photos/it's "cloudkeep" $HOME & <co>.yaml`

// The System V script runs the command with every argument whole: spaces,
// quotes, dollars and ampersands need no quoting. The script is rendered
// from the real service config through kardianos/service's engine with the
// data its Install passes, and its start code is run with the output and
// PID file moved into a temporary directory.
func TestSysvScript_ArgumentsStayWhole(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "with space")
	os.MkdirAll(dir, 0o755)
	bin := filepath.Join(dir, "print args")
	os.WriteFile(bin, []byte("#!/bin/sh\nprintf '[%s]\\n' \"$@\"\n"), 0o755)
	sc, err := serviceConfig(awkwardConfig, bin, false)
	if err != nil {
		t.Fatal(err)
	}
	script, err := servicetmpl.Render(sc.Option["SysvScript"].(string), map[string]any{
		"Description": sc.Description, "DisplayName": sc.DisplayName, "Path": bin, "Arguments": sc.Arguments,
		"WorkingDirectory": "", "LogDirectory": "/var/log", "EnvVars": []string(nil),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	preamble := script[:strings.Index(script, "\ncase \"$1\" in")]
	log := filepath.Join(dir, "out.log")
	cmd := exec.Command("sh", "-c", preamble+"\nrun_as=; pid_file=\"$1\"; log=\"$2\"; run_command", "sh", filepath.Join(dir, "pid"), log)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run_command: %v\n%s", err, out)
	}
	want := "[run]\n[--config]\n[" + awkwardConfig + "]\n"
	var got []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got, _ = os.ReadFile(log); string(got) == want {
			return
		}
	}
	t.Errorf("the command got\n%s\nwant\n%s", got, want)
}

// The launchd plist, rendered from the real service config through
// kardianos/service's engine with the data its Install passes, is a valid
// property list: a dict of key/value pairs whose ProgramArguments array
// holds the binary and each argument, escaped for XML and read back whole.
func TestLaunchdPlist_Valid(t *testing.T) {
	bin := "/Applications/cloud keep.app/Contents/MacOS/cloudkeep"
	sc, err := serviceConfig(awkwardConfig, bin, false)
	if err != nil {
		t.Fatal(err)
	}
	out, err := servicetmpl.Render(sc.Option["LaunchdConfig"].(string), map[string]any{
		"Name": sc.Name, "Path": bin, "Arguments": sc.Arguments, "ChRoot": "", "UserName": "", "WorkingDirectory": "",
		"KeepAlive": "true", "RunAtLoad": "false", "SessionCreate": "false",
		"StandardOutPath": "/usr/local/var/log/cloudkeep.out.log", "StandardErrorPath": "/usr/local/var/log/cloudkeep.err.log",
		"EnvVars": []string(nil),
	}, servicetmpl.LaunchdFuncs)
	if err != nil {
		t.Fatal(err)
	}
	dict, err := parsePlist(out)
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if got := dict["Label"]; got != "cloudkeep" {
		t.Errorf("Label: got %v, want cloudkeep", got)
	}
	args, _ := dict["ProgramArguments"].([]any)
	want := []string{bin, "run", "--config", awkwardConfig}
	if len(args) != len(want) {
		t.Fatalf("ProgramArguments: got %q, want %q", args, want)
	}
	for i := range want {
		if args[i] != want[i] {
			t.Errorf("ProgramArguments[%d]: got %q, want %q", i, args[i], want[i])
		}
	}
	if got := dict["StandardErrorPath"]; got != "/usr/local/var/log/cloudkeep.err.log" {
		t.Errorf("StandardErrorPath: got %v", got)
	}
	if ka, _ := dict["KeepAlive"].(map[string]any); ka["SuccessfulExit"] != false {
		t.Errorf("KeepAlive: got %v, want SuccessfulExit false (restart on failure)", dict["KeepAlive"])
	}
}

// parsePlist checks a property list's structure (plist > one dict; a dict
// alternates key and value; values are string, true, false, integer,
// array or dict) and returns its top dict.
func parsePlist(doc string) (map[string]any, error) {
	d := xml.NewDecoder(strings.NewReader(doc))
	var top any
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "plist" {
				return nil, fmt.Errorf("root element <%s>, want <plist>", se.Name.Local)
			}
			if top, err = plistValue(d); err != nil {
				return nil, err
			}
		}
	}
	dict, ok := top.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("plist holds %T, want a dict", top)
	}
	return dict, nil
}

// plistValue reads the next value element and its content.
func plistValue(d *xml.Decoder) (any, error) {
	se, err := nextStart(d)
	if err != nil || se == nil {
		return nil, err
	}
	switch se.Name.Local {
	case "string", "integer", "key":
		var s string
		err := d.DecodeElement(&s, se)
		return s, err
	case "true", "false":
		return se.Name.Local == "true", d.Skip()
	case "array":
		var a []any
		for {
			v, err := plistValue(d)
			if err != nil {
				return nil, err
			}
			if v == nil {
				return a, nil
			}
			a = append(a, v)
		}
	case "dict":
		m := map[string]any{}
		for {
			k, err := nextStart(d)
			if err != nil {
				return nil, err
			}
			if k == nil {
				return m, nil
			}
			var key string
			if k.Name.Local != "key" {
				return nil, fmt.Errorf("<%s> where a dict wants <key>", k.Name.Local)
			}
			if err := d.DecodeElement(&key, k); err != nil {
				return nil, err
			}
			v, err := plistValue(d)
			if err != nil || v == nil {
				return nil, fmt.Errorf("key %q has no value (%v)", key, err)
			}
			m[key] = v
		}
	}
	return nil, fmt.Errorf("unknown plist element <%s>", se.Name.Local)
}

// nextStart returns the next start element, or nil at the enclosing end.
func nextStart(d *xml.Decoder) (*xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			return &tok, nil
		case xml.EndElement:
			return nil, nil
		case xml.CharData:
			if strings.TrimSpace(string(tok)) != "" {
				return nil, fmt.Errorf("text %q outside a value", tok)
			}
		}
	}
}
