package pii_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/internal/pii"
)

// testKey returns a key of the given byte repeated, base64-encoded: a
// distinct, recognisable key for each byte.
func testKey(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, pii.KeySize))
}

// testKeys are the keys testFile writes, to look for in errors and output.
var testKeys = []string{testKey(1), testKey(2), testKey(3)}

// testFile is a key file with fixed keys: hmac 1, data k2 2, data k1 3.
var testFile = "# test keys\n\nhmac " + testKeys[0] + "\ndata k2 " + testKeys[1] + "\n  data k1 " + testKeys[2] + "  \n"

func mustParse(t testing.TB, file string) *pii.Keyring {
	t.Helper()
	k, err := pii.Parse(strings.NewReader(file))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return k
}

// generate returns a new key file of one data key, id.
func generate(t testing.TB, id string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := pii.Generate(&b, id); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return b.Bytes()
}

// keysOf returns the base64 keys of a key file.
func keysOf(file []byte) []string {
	var keys []string
	for line := range strings.Lines(string(file)) {
		f := strings.Fields(line)
		if len(f) > 1 && (f[0] == "hmac" || f[0] == "data") {
			keys = append(keys, f[len(f)-1])
		}
	}
	return keys
}

func TestGenerate(t *testing.T) {
	file := generate(t, "2026-01")
	if !bytes.HasPrefix(file, []byte("# petition registry keys: the first data key encrypts; every data key decrypts\n")) {
		t.Errorf("Generate's file does not start with its comment:\n%s", file)
	}
	k := mustParse(t, string(file))
	if got := k.CurrentKeyID(); got != "2026-01" {
		t.Errorf("CurrentKeyID = %q, want 2026-01", got)
	}
	if got := k.KeyIDs(); !slices.Equal(got, []string{"2026-01"}) {
		t.Errorf("KeyIDs = %q, want [2026-01]", got)
	}
	keys := keysOf(file)
	if len(keys) != 2 || keys[0] == keys[1] {
		t.Errorf("Generate wrote keys %d keys, not 2 different ones", len(keys))
	}
	// Another file has other keys.
	for _, key := range keysOf(generate(t, "2026-01")) {
		if slices.Contains(keys, key) {
			t.Error("two files of Generate share a key")
		}
	}
	for _, id := range []string{"", "K1", "k_1", "k.1", "abcdefghijklmnopq", "k 1", "ключ"} {
		if err := pii.Generate(&bytes.Buffer{}, id); err == nil {
			t.Errorf("Generate(%q) accepted the id", id)
		}
	}
	if err := pii.Generate(&bytes.Buffer{}, "abcdefghijklmnop"); err != nil {
		t.Errorf("Generate of a 16-character id: %v", err)
	}
}

// TestNewKeyFile: the key file of a reader's bytes is the file Generate
// writes, with those bytes as its keys; a reader that runs dry is an error.
func TestNewKeyFile(t *testing.T) {
	random := bytes.Repeat([]byte{1}, pii.KeySize)
	random = append(random, bytes.Repeat([]byte{2}, pii.KeySize)...)
	file, err := pii.NewKeyFile(bytes.NewReader(random), "k1")
	if err != nil {
		t.Fatal(err)
	}
	want := "# petition registry keys: the first data key encrypts; every data key decrypts\nhmac " + testKey(1) + "\ndata k1 " + testKey(2) + "\n"
	if string(file) != want {
		t.Errorf("NewKeyFile =\n%s\nwant\n%s", file, want)
	}
	if k := mustParse(t, string(file)); k.CurrentKeyID() != "k1" {
		t.Errorf("CurrentKeyID = %q, want k1", k.CurrentKeyID())
	}
	if _, err := pii.NewKeyFile(bytes.NewReader(random[:40]), "k1"); err == nil {
		t.Error("NewKeyFile of 40 random bytes succeeded")
	}
	if _, err := pii.NewKeyFile(bytes.NewReader(random), "K1"); err == nil {
		t.Error("NewKeyFile accepted the id K1")
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		ids        []string
	}{
		{"comments, blank lines and spaces", testFile, []string{"k2", "k1"}},
		{"CRLF", strings.ReplaceAll(testFile, "\n", "\r\n"), []string{"k2", "k1"}},
		{"byte order mark", "\ufeffhmac " + testKeys[0] + "\ndata a " + testKeys[1], []string{"a"}},
		{"hmac after the data keys", "data x-1 " + testKeys[1] + "\n\tdata 0 " + testKeys[2] + "\nhmac " + testKeys[0] + "\n", []string{"x-1", "0"}},
		{"tabs", "hmac\t" + testKeys[0] + "\ndata\tk\t" + testKeys[1] + "\n# data z " + testKeys[2] + "\n", []string{"k"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := mustParse(t, tc.file)
			if got := k.KeyIDs(); !slices.Equal(got, tc.ids) {
				t.Errorf("KeyIDs = %q, want %q", got, tc.ids)
			}
			if got := k.CurrentKeyID(); got != tc.ids[0] {
				t.Errorf("CurrentKeyID = %q, want %q", got, tc.ids[0])
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	k1, k2, k3 := testKeys[0], testKeys[1], testKeys[2]
	short := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{4}, 31))
	long := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 33))
	raw := base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{6}, 32))
	bad := "!" + k3[1:]
	urlSafe := base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32))
	for _, tc := range []struct {
		name, file, want string
	}{
		{"empty", "", "no hmac line"},
		{"comments only", "# hmac " + k1 + "\n", "no hmac line"},
		{"no data line", "hmac " + k1 + "\n", "no data line"},
		{"no hmac line", "data k1 " + k2 + "\n", "no hmac line"},
		{"two hmac lines", "hmac " + k1 + "\n\nhmac " + k2 + "\ndata k1 " + k3, "line 3: a second hmac line (the first is line 1)"},
		{"hmac with an id", "hmac h " + k1 + "\ndata k1 " + k2, "line 1: want `hmac <base64 of 32 random bytes>`, found 3 fields"},
		{"hmac without a key", "hmac\ndata k1 " + k2, "line 1: want `hmac"},
		{"data without an id", "hmac " + k1 + "\ndata " + k2, "line 2: want `data <id> <base64 of 32 random bytes>`, found 2 fields"},
		{"data with a comment after it", "hmac " + k1 + "\ndata k1 " + k2 + " # old", "line 2: want `data <id>"},
		{"fields swapped", "hmac " + k1 + "\ndata " + k2 + " k1", "line 2: a data key's id is 1 to 16 characters a-z, 0-9 and -, and comes before the key"},
		{"id of 17 characters", "hmac " + k1 + "\ndata abcdefghijklmnopq " + k2, "line 2: a data key's id is"},
		{"id in capitals", "hmac " + k1 + "\ndata K1 " + k2, "line 2: a data key's id is"},
		{"id with a dot", "hmac " + k1 + "\ndata k.1 " + k2, "line 2: a data key's id is"},
		{"ids not unique", "hmac " + k1 + "\ndata k1 " + k2 + "\n# next\ndata k1 " + k3, `line 4: data key id "k1" is also on line 2: ids are unique`},
		{"not base64", "hmac " + k1 + "\ndata k1 " + bad, "line 2: data key is not standard base64"},
		{"unpadded base64", "hmac " + raw + "\ndata k1 " + k2, "line 1: hmac key is not standard base64"},
		{"URL-safe base64", "hmac " + k1 + "\ndata k1 " + urlSafe, "line 2: data key is not standard base64"},
		{"31-byte key", "hmac " + k1 + "\ndata k1 " + short, "line 2: data key is 31 bytes: want exactly 32"},
		{"33-byte key", "hmac " + long + "\ndata k1 " + k2, "line 1: hmac key is 33 bytes: want exactly 32"},
		{"a key on its own", "hmac " + k1 + "\n" + k2 + "\ndata k1 " + k3, "line 2: a line is `hmac <base64 key>`, `data <id> <base64 key>`, blank, or a comment starting with #"},
		{"another keyword", "hmac " + k1 + "\nkey k1 " + k2, "line 2: a line is"},
		{"data keyword in capitals", "hmac " + k1 + "\nDATA k1 " + k2, "line 2: a line is"},
		{"hmac key a data key", "hmac " + k1 + "\ndata k1 " + k2 + "\ndata k2 " + k1, "line 3: data key is the key of line 1"},
		{"data key twice", "hmac " + k1 + "\ndata k1 " + k2 + "\ndata k2 " + k2, "line 3: data key is the key of line 2"},
		{"larger than a megabyte", "hmac " + k1 + "\ndata k1 " + k2 + "\n" + strings.Repeat("#\n", 1<<19), "larger than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := pii.Parse(strings.NewReader(tc.file))
			if err == nil {
				t.Fatalf("Parse accepted the file: %v", k)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "pii: key file: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not start with %q and contain %q", msg, "pii: key file: ", tc.want)
			}
			for _, key := range []string{k1, k2, k3, short, long, raw, bad, urlSafe} {
				if strings.Contains(msg, key) || strings.Contains(msg, key[:16]) {
					t.Errorf("error %q holds key material", msg)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "keys")
	if err := os.WriteFile(good, []byte(testFile), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := pii.Load(good)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if k.CurrentKeyID() != "k2" {
		t.Errorf("CurrentKeyID = %q, want k2", k.CurrentKeyID())
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("hmac "+testKeys[0]+"\ndata k1 "+testKeys[1][1:]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = pii.Load(bad)
	if err == nil || !strings.Contains(err.Error(), "pii: key file "+bad+": line 2: data key is not standard base64") {
		t.Errorf("Load of a bad file: %v, want the path and line 2", err)
	}
	_, err = pii.Load(filepath.Join(dir, "missing"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want os.ErrNotExist", err)
	}
}

func TestRotate(t *testing.T) {
	for _, tc := range []struct{ name, file string }{
		{"Generate's file", string(generate(t, "k1"))},
		{"comments and two keys", testFile},
		{"CRLF", strings.ReplaceAll(testFile, "\n", "\r\n")},
		{"no final newline", "hmac " + testKeys[0] + "\ndata k1 " + testKeys[1]},
		{"data first, byte order mark", "\ufeffdata k1 " + testKeys[1] + "\nhmac " + testKeys[0] + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := mustParse(t, tc.file)
			out, err := pii.Rotate([]byte(tc.file), "k3")
			if err != nil {
				t.Fatalf("Rotate: %v", err)
			}
			k := mustParse(t, string(out))
			if want := append([]string{"k3"}, old.KeyIDs()...); !slices.Equal(k.KeyIDs(), want) {
				t.Errorf("KeyIDs after Rotate = %q, want %q", k.KeyIDs(), want)
			}
			// The new line is the only change.
			var added []string
			rest := string(out)
			for line := range strings.Lines(string(out)) {
				if line = strings.TrimPrefix(line, "\ufeff"); strings.HasPrefix(line, "data k3 ") {
					added = append(added, line)
					rest = strings.Replace(rest, line, "", 1)
				}
			}
			if len(added) != 1 || rest != tc.file {
				t.Fatalf("Rotate changed more than one new line:\n%q\nto\n%q", tc.file, out)
			}
			if strings.Contains(tc.file, "\r\n") != strings.HasSuffix(added[0], "\r\n") {
				t.Errorf("the new line %q does not end as the file's lines do", added[0])
			}
			if slices.Contains(keysOf([]byte(tc.file)), keysOf([]byte(added[0]))[0]) {
				t.Error("the new data key is an old one")
			}
		})
	}
	for _, tc := range []struct{ name, file, id, want string }{
		{"id in the file", testFile, "k1", `pii: rotate: data key id "k1" is already in the key file`},
		{"bad id", testFile, "K3", "pii: rotate: a data key's id is 1 to 16 characters"},
		{"bad file", "hmac " + testKeys[0] + "\n", "k3", "pii: rotate: key file: no data line"},
		{"bad key", "hmac " + testKeys[0] + "\ndata k1 " + testKeys[1][:40], "k3", "pii: rotate: key file: line 2: data key is 30 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := pii.Rotate([]byte(tc.file), tc.id)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Rotate = %q, %v; want an error with %q", out, err, tc.want)
			}
			if strings.Contains(err.Error(), testKeys[1][:16]) {
				t.Errorf("error %q holds key material", err)
			}
		})
	}
}

// TestRotateOpensOld follows a rotation: values sealed before still open,
// new ones are sealed under the new key, Rewrap moves the old ones to it, and
// a process that still has the old file does not open the new ones.
func TestRotateOpensOld(t *testing.T) {
	file := generate(t, "k1")
	before := mustParse(t, string(file))
	aad := []byte("case:C-1:phone")
	old := before.SealString("13812345678", aad)

	rotated, err := pii.Rotate(file, "k2")
	if err != nil {
		t.Fatal(err)
	}
	after := mustParse(t, string(rotated))
	if got, err := after.OpenString(old, aad); err != nil || got != "13812345678" {
		t.Errorf("Open of a value sealed before Rotate = %q, %v", got, err)
	}
	sealed := after.SealString("13812345678", aad)
	if id := string(sealed[2 : 2+sealed[1]]); id != "k2" {
		t.Errorf("Seal after Rotate used key %q, want k2", id)
	}
	if !after.NeedsRewrap(old) || after.NeedsRewrap(sealed) || before.NeedsRewrap(old) {
		t.Errorf("NeedsRewrap: old value %v (want true), new value %v (want false), old value before Rotate %v (want false)",
			after.NeedsRewrap(old), after.NeedsRewrap(sealed), before.NeedsRewrap(old))
	}
	if after.NeedsRewrap(nil) || after.NeedsRewrap([]byte("not a ciphertext")) {
		t.Error("NeedsRewrap is true of nil or of what is not a ciphertext")
	}

	rewrapped, err := after.Rewrap(old, aad)
	if err != nil {
		t.Fatalf("Rewrap: %v", err)
	}
	if after.NeedsRewrap(rewrapped) {
		t.Error("NeedsRewrap after Rewrap")
	}
	if got, err := after.OpenString(rewrapped, aad); err != nil || got != "13812345678" {
		t.Errorf("Open after Rewrap = %q, %v", got, err)
	}
	if same, err := after.Rewrap(sealed, aad); err != nil || !bytes.Equal(same, sealed) {
		t.Errorf("Rewrap of a value under the current key changed it (%v)", err)
	}
	if _, err := after.Rewrap(old, []byte("case:C-2:phone")); !errors.Is(err, pii.ErrNotAuthentic) {
		t.Errorf("Rewrap with other associated data: %v, want ErrNotAuthentic", err)
	}
	if got, err := after.Rewrap(nil, aad); got != nil || err != nil {
		t.Errorf("Rewrap(nil) = %q, %v", got, err)
	}

	_, err = before.Open(sealed, aad)
	if !errors.Is(err, pii.ErrUnknownKey) || !strings.Contains(err.Error(), `"k2"`) {
		t.Errorf("Open under the old file of a value sealed under the new key: %v, want ErrUnknownKey naming k2", err)
	}
	if pk := after.PersonKey(pii.KindPhone, "13812345678"); !bytes.Equal(pk, before.PersonKey(pii.KindPhone, "13812345678")) {
		t.Error("PersonKey changed with Rotate, which keeps the hmac key")
	}
}

// TestKeyringPrintsNoKey prints a Keyring with every verb and looks for its
// keys, in base64 and hex, and for the bytes of the test keys.
func TestKeyringPrintsNoKey(t *testing.T) {
	k := mustParse(t, testFile)
	var forbidden []string
	for _, key := range testKeys {
		raw, _ := base64.StdEncoding.DecodeString(key)
		forbidden = append(forbidden, key, hex.EncodeToString(raw), fmt.Sprintf("%d", raw))
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%T %p"} {
		for _, v := range []any{k, *k} {
			out := fmt.Sprintf(verb, v)
			for _, f := range forbidden {
				if strings.Contains(out, f) {
					t.Errorf("Sprintf(%q) holds key material: %s", verb, out)
				}
			}
		}
	}
	if got, want := fmt.Sprint(k), "pii.Keyring{data keys: k2, k1}"; got != want {
		t.Errorf("Sprint = %q, want %q", got, want)
	}
}
