package pii_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/internal/pii"
)

// FuzzOpen opens arbitrary bytes: Open never panics, and what opens is what
// was sealed. (The seeds are sealed again in each process of the fuzzer,
// with other nonces, so the test knows the plaintexts, not the ciphertexts.)
func FuzzOpen(f *testing.F) {
	k := mustParse(f, testFile)
	other := mustParse(f, "hmac "+testKeys[0]+"\ndata k9 "+testKeys[1])
	aad := []byte("case:C-1:phone")
	sealed := map[string]bool{}
	for _, s := range []string{"13812345678", "张小明", strings.Repeat("x", 300)} {
		ct := k.SealString(s, aad)
		sealed[s] = true
		f.Add(ct)
		f.Add(ct[:len(ct)-1])
		f.Add(other.SealString(s, aad))
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 2, 'k', '2'})
	f.Add([]byte{1, 255})
	f.Add(bytes.Repeat([]byte{1}, 64))
	f.Fuzz(func(t *testing.T, ct []byte) {
		got, err := k.Open(ct, aad)
		if err != nil {
			return
		}
		if len(ct) == 0 {
			if got != nil {
				t.Fatalf("Open of no bytes = %q", got)
			}
			return
		}
		if !sealed[string(got)] || k.NeedsRewrap(ct) {
			t.Fatalf("Open(%x) = %q, not a value that was sealed under the current key", ct, got)
		}
	})
}

// FuzzNormalizePhone normalises arbitrary strings: NormalizePhone never
// panics, and what it accepts is digits that normalise to themselves.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"13812345678", "+86 138-1234-5678", "0086 13812345678", "(0377) 63123456", "010-1234567", "１３８１２３４５６７８", "+", "0", "86"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := pii.NormalizePhone(s)
		if err != nil {
			return
		}
		if strings.Trim(got, "0123456789") != "" || len(got) < 10 || len(got) > 12 {
			t.Fatalf("NormalizePhone(%q) = %q, not 10 to 12 digits", s, got)
		}
		if again, err := pii.NormalizePhone(got); err != nil || again != got {
			t.Fatalf("NormalizePhone(%q) = %q, whose NormalizePhone is %q, %v", s, got, again, err)
		}
	})
}

// FuzzNormalizeIDNumber normalises arbitrary strings: NormalizeIDNumber
// never panics, and what it accepts has 18 characters, a valid check
// character, and normalises to itself.
func FuzzNormalizeIDNumber(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "11010519491231002x", "110105491231002", "110105 19491231 002X", "X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := pii.NormalizeIDNumber(s)
		if err != nil {
			return
		}
		if len(got) != 18 || withCheck(got[:17]) != got {
			t.Fatalf("NormalizeIDNumber(%q) = %q, not 17 digits and their check character", s, got)
		}
		if again, err := pii.NormalizeIDNumber(got); err != nil || again != got {
			t.Fatalf("NormalizeIDNumber(%q) = %q, whose NormalizeIDNumber is %q, %v", s, got, again, err)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	k := mustParse(b, testFile)
	plaintext := []byte("13812345678")
	aad := []byte("case:C-2026-000123:phone")
	b.SetBytes(int64(len(plaintext)))
	b.ReportAllocs()
	for b.Loop() {
		k.Seal(plaintext, aad)
	}
}

func BenchmarkOpen(b *testing.B) {
	k := mustParse(b, testFile)
	aad := []byte("case:C-2026-000123:phone")
	ct := k.Seal([]byte("13812345678"), aad)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open(ct, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPersonKey(b *testing.B) {
	k := mustParse(b, testFile)
	b.ReportAllocs()
	for b.Loop() {
		k.PersonKey(pii.KindID, "11010519491231002X")
	}
}
