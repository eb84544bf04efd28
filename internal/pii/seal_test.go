package pii_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/internal/pii"
)

func TestSealOpen(t *testing.T) {
	k := mustParse(t, testFile)
	aad := []byte("case:C-2026-000123:description")
	for _, plaintext := range []string{
		"x",
		"张小明",
		"13812345678",
		"11010519491231002X",
		strings.Repeat("村委会未公开土地补偿款的发放情况。", 500),
		"\x00\xff not UTF-8 \xc3",
	} {
		ct := k.SealString(plaintext, aad)
		if ct[0] != 1 || ct[1] != 2 || string(ct[2:4]) != "k2" {
			t.Errorf("ciphertext starts % x, want version 1, then the current key id k2 and its length", ct[:4])
		}
		if want := 2 + 2 + 12 + len(plaintext) + 16; len(ct) != want {
			t.Errorf("ciphertext of %d bytes has %d, want %d: header, nonce, text and tag", len(plaintext), len(ct), want)
		}
		if len(plaintext) > 4 && bytes.Contains(ct, []byte(plaintext)) {
			t.Errorf("ciphertext holds the plaintext")
		}
		got, err := k.OpenString(ct, aad)
		if err != nil || got != plaintext {
			t.Errorf("OpenString = %.20q, %v; want %.20q", got, err, plaintext)
		}
		if again := k.SealString(plaintext, aad); bytes.Equal(again, ct) {
			t.Error("two seals of a value gave the same ciphertext: the nonce is not random")
		}
	}
	// A value sealed under a key that no longer seals still opens.
	old := mustParse(t, "hmac "+testKeys[0]+"\ndata k1 "+testKeys[2]).Seal([]byte("王芳"), aad)
	if got, err := k.Open(old, aad); err != nil || string(got) != "王芳" {
		t.Errorf("Open of a value under the second data key = %q, %v", got, err)
	}
}

func TestSealEmpty(t *testing.T) {
	k := mustParse(t, testFile)
	aad := []byte("case:C-1:name")
	if ct := k.Seal(nil, aad); ct != nil {
		t.Errorf("Seal(nil) = %x, want nil", ct)
	}
	if ct := k.Seal([]byte{}, aad); ct != nil {
		t.Errorf("Seal of no bytes = %x, want nil", ct)
	}
	if ct := k.SealString("", aad); ct != nil {
		t.Errorf(`SealString("") = %x, want nil`, ct)
	}
	if pt, err := k.Open(nil, aad); pt != nil || err != nil {
		t.Errorf("Open(nil) = %q, %v; want nil, nil", pt, err)
	}
	if s, err := k.OpenString([]byte{}, aad); s != "" || err != nil {
		t.Errorf("OpenString of no bytes = %q, %v; want \"\", nil", s, err)
	}
}

// TestOpenTampered alters a ciphertext every way, and finds that none opens
// and no error quotes the plaintext.
func TestOpenTampered(t *testing.T) {
	k := mustParse(t, testFile)
	const plaintext = "13812345678"
	aad := []byte("case:C-1:phone")
	ct := k.SealString(plaintext, aad)

	type attempt struct {
		name string
		ct   []byte
		aad  []byte
		want error
	}
	attempts := []attempt{
		{"another row", ct, []byte("case:C-2:phone"), pii.ErrNotAuthentic},
		{"another column", ct, []byte("case:C-1:name"), pii.ErrNotAuthentic},
		{"no associated data", ct, nil, pii.ErrNotAuthentic},
		{"a byte more", append(bytes.Clone(ct), 0), aad, pii.ErrNotAuthentic},
		{"version 2", append([]byte{2}, ct[1:]...), aad, pii.ErrMalformed},
		{"key id of 0 bytes", append([]byte{1, 0}, ct[2:]...), aad, pii.ErrMalformed},
		{"key id of 17 bytes", append([]byte{1, 17}, ct[2:]...), aad, pii.ErrMalformed},
		{"key id not an id", append([]byte{1, 2, 'K', '2'}, ct[4:]...), aad, pii.ErrMalformed},
		{"the other key's id", append([]byte{1, 2, 'k', '1'}, ct[4:]...), aad, pii.ErrNotAuthentic},
		{"the same id of another file", mustParse(t, "hmac "+testKeys[0]+"\ndata k2 "+testKeys[2]).Seal([]byte(plaintext), aad), aad, pii.ErrNotAuthentic},
		{"a key not in the file", mustParse(t, "hmac "+testKeys[0]+"\ndata k9 "+testKeys[1]).Seal([]byte(plaintext), aad), aad, pii.ErrUnknownKey},
	}
	for i := range ct {
		flipped := bytes.Clone(ct)
		flipped[i] ^= 0x01
		attempts = append(attempts, attempt{"byte flipped", flipped, aad, nil})
	}
	for n := 1; n < len(ct); n++ {
		attempts = append(attempts, attempt{"truncated", ct[:n], aad, nil})
	}
	for _, a := range attempts {
		got, err := k.Open(a.ct, a.aad)
		if err == nil {
			t.Errorf("%s: Open = %q, want an error", a.name, got)
			continue
		}
		if got != nil {
			t.Errorf("%s: Open returned %q with its error", a.name, got)
		}
		if a.want != nil && !errors.Is(err, a.want) {
			t.Errorf("%s: Open: %v, want %v", a.name, err, a.want)
		}
		if !errors.Is(err, pii.ErrNotAuthentic) && !errors.Is(err, pii.ErrMalformed) && !errors.Is(err, pii.ErrUnknownKey) {
			t.Errorf("%s: Open: %v, none of the package's errors", a.name, err)
		}
		if strings.Contains(err.Error(), plaintext) {
			t.Errorf("%s: error %q quotes the plaintext", a.name, err)
		}
	}
	_, err := k.Open(mustParse(t, "hmac "+testKeys[0]+"\ndata k9 "+testKeys[1]).Seal([]byte(plaintext), aad), aad)
	if want := `pii: ciphertext sealed under a data key not in the key file: key id "k9" (the key file has k2, k1)`; err == nil || err.Error() != want {
		t.Errorf("Open under an unknown key: %v, want %q", err, want)
	}
}
