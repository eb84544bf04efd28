package pii_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/internal/pii"
)

// withCheck returns 17 digits followed by their check character, computed
// the way ISO 7064 MOD 11-2 states it, digit by digit (p = 2(p + digit) mod
// 11, then the character that makes p + c = 1 mod 11), not with the table of
// weights that the package uses.
func withCheck(digits17 string) string {
	p := 0
	for _, c := range digits17 {
		p = (p + int(c-'0')) * 2 % 11
	}
	c := (12 - p) % 11
	if c == 10 {
		return digits17 + "X"
	}
	return digits17 + string(rune('0'+c))
}

func TestWithCheck(t *testing.T) {
	// The public test vector of GB 11643.
	if got := withCheck("11010519491231002"); got != "11010519491231002X" {
		t.Fatalf("withCheck = %s, want 11010519491231002X", got)
	}
}

// fullWidth returns s with its digits and letters full-width.
func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '+' {
			return r - '!' + '！'
		}
		return r
	}, s)
}

// digitsOf returns the ASCII digits of s, to look for in errors.
func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func TestNormalizeIDNumber(t *testing.T) {
	valid := []struct{ in, want string }{
		{"11010519491231002X", "11010519491231002X"},
		{"11010519491231002x", "11010519491231002X"},
		{fullWidth("11010519491231002X"), "11010519491231002X"},
		{fullWidth("11010519491231002x"), "11010519491231002X"},
		{" 110105 19491231 002X\t", "11010519491231002X"},
		{"110105\u300019491231\u3000002X", "11010519491231002X"},
		// The old 15-digit form of the same person: 19 goes before 49.
		{"110105491231002", "11010519491231002X"},
		{withCheck("41030319800101123"), withCheck("41030319800101123")},
		{withCheck("41030320000229004"), withCheck("41030320000229004")}, // 2000 is a leap year
		{withCheck("41030319000101005"), withCheck("41030319000101005")},
		{withCheck("41030321001231006"), withCheck("41030321001231006")},
		{"410303800101123", withCheck("41030319800101123")},
	}
	// Every check character, X and 0 to 9, in valid numbers.
	checks := map[byte]bool{}
	for seq := 100; len(checks) < 11; seq++ {
		id := withCheck("3201021985061" + string(rune('0'+seq/100%10)) + string(rune('0'+seq/10%10)) + string(rune('0'+seq%10)) + "1")
		if !checks[id[17]] {
			checks[id[17]] = true
			valid = append(valid, struct{ in, want string }{id, id})
		}
	}
	for _, tc := range valid {
		got, err := pii.NormalizeIDNumber(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeIDNumber(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			continue
		}
		if again, err := pii.NormalizeIDNumber(got); err != nil || again != got {
			t.Errorf("NormalizeIDNumber(%q) = %q, %v: not its own normal form", got, again, err)
		}
	}

	invalid := []struct{ in, want string }{
		{"", "0 digits"},
		{"11010519491231002", "17 digits"},
		{"11010519491231002X0", "19 digits"},
		{"1101051949123100", "16 digits"},
		{"11010519491231002Y", "a character other than a digit, X or space"},
		{"110105-19491231-002X", "a character other than a digit, X or space"},
		{"11010519491231002Ⅹ", "a character other than a digit, X or space"}, // a Roman numeral ten
		{"1101051949123100X2", "an X before the last character"},
		{"11010549123100X", "an X in the 15-digit form"},
		{strings.Repeat(" ", 15) + "11010519491231002X", "more than 32 characters"},
		{strings.Repeat("1", 1000), "more than 32 characters"},
		{withCheck("41030319000229007"), "not a birth date"}, // 1900 is not a leap year
		{withCheck("41030319810229007"), "not a birth date"},
		{withCheck("41030318991231007"), "not a birth date"},
		{withCheck("41030321010101007"), "not a birth date"},
		{withCheck("41030319800001007"), "not a birth date"},
		{withCheck("41030319801301007"), "not a birth date"},
		{withCheck("41030319800100007"), "not a birth date"},
		{withCheck("41030319800132007"), "not a birth date"},
		{withCheck("41030319800431007"), "not a birth date"},
		{withCheck("41030300000101007"), "not a birth date"},
		{"410303800230123", "not a birth date"},
		{"410303801301123", "not a birth date"},
	}
	// Every wrong check character of valid numbers.
	for _, tc := range valid {
		id, _ := pii.NormalizeIDNumber(tc.in)
		for _, c := range "0123456789X" {
			if byte(c) != id[17] {
				invalid = append(invalid, struct{ in, want string }{id[:17] + string(c), "check character"})
			}
		}
	}
	for _, tc := range invalid {
		got, err := pii.NormalizeIDNumber(tc.in)
		if err == nil {
			t.Errorf("NormalizeIDNumber(%.40q) = %q, want an error", tc.in, got)
			continue
		}
		if !errors.Is(err, pii.ErrIDNumber) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NormalizeIDNumber(%.40q): %v, want ErrIDNumber and %q", tc.in, err, tc.want)
		}
		if digits := digitsOf(tc.in); len(digits) >= 7 && strings.Contains(err.Error(), digits[:7]) {
			t.Errorf("NormalizeIDNumber(%.40q): error %q quotes the input", tc.in, err)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	valid := []struct{ in, want string }{
		{"13812345678", "13812345678"},
		{"19912345678", "19912345678"},
		{"13012345678", "13012345678"},
		{"138 1234 5678", "13812345678"},
		{"138-1234-5678", "13812345678"},
		{"138.1234.5678", "13812345678"},
		{" 138\t1234\u30005678 ", "13812345678"},
		{"+86 138 1234 5678", "13812345678"},
		{"+8613812345678", "13812345678"},
		{"(+86) 138-1234-5678", "13812345678"},
		{"＋86 13812345678", "13812345678"},
		{"0086 138 1234 5678", "13812345678"},
		{"86 13812345678", "13812345678"},
		{"8613812345678", "13812345678"},
		{fullWidth("13812345678"), "13812345678"},
		{"１３８－１２３４－５６７８", "13812345678"},
		{"0377-63123456", "037763123456"},
		{"(0377) 6312345", "03776312345"},
		{"（０３７７）６３１２３４５６", "037763123456"},
		{"010-12345678", "01012345678"},
		{"010.1234567", "0101234567"},
		{"021 6123 4567", "02161234567"},
		{"0755-2612345", "07552612345"},
		{strings.Repeat(" ", 21) + "13812345678", "13812345678"}, // 32 characters
	}
	for _, tc := range valid {
		got, err := pii.NormalizePhone(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			continue
		}
		if again, err := pii.NormalizePhone(got); err != nil || again != got {
			t.Errorf("NormalizePhone(%q) = %q, %v: not its own normal form", got, again, err)
		}
	}

	invalid := []struct{ in, want string }{
		{"", "0 digits"},
		{"12812345678", "11 digits"},
		{"11812345678", "11 digits"},
		{"1381234567", "10 digits"},
		{"138123456789", "12 digits"},
		{"+86 0377 63123456", "an international number other than +86 and a mobile number"},
		{"+1 202 555 0123", "an international number"},
		{"+86 12812345678", "an international number"},
		{"86 0377 63123456", "14 digits"},
		{"0086 0377 63123456", "16 digits"},
		{"0086 12812345678", "15 digits"},
		{"0012345678", "10 digits"},
		{"0377-631234", "10 digits"},
		{"0377-631234567", "13 digits"},
		{"010-123456", "9 digits"},
		{"010-123456789", "12 digits"},
		{"138 1234 567a", "a character other than a digit or separator"},
		{"138/1234/5678", "a character other than a digit or separator"},
		{"138\n1234\n5678", "a character other than a digit or separator"},
		{"tel:13812345678", "a character other than a digit or separator"},
		{"\xff13812345678", "a character other than a digit or separator"},
		{"138+12345678", "a + that does not start the number"},
		{"++8613812345678", "a + that does not start the number"},
		{strings.Repeat(" ", 22) + "13812345678", "more than 32 characters"},
		{strings.Repeat("1", 1<<20), "more than 32 characters"},
	}
	for _, tc := range invalid {
		got, err := pii.NormalizePhone(tc.in)
		if err == nil {
			t.Errorf("NormalizePhone(%.40q) = %q, want an error", tc.in, got)
			continue
		}
		if !errors.Is(err, pii.ErrPhone) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "want a mobile number") {
			t.Errorf("NormalizePhone(%.40q): %v, want ErrPhone, %q and what is allowed", tc.in, err, tc.want)
		}
		if digits := digitsOf(tc.in); len(digits) >= 7 && strings.Contains(err.Error(), digits[:7]) {
			t.Errorf("NormalizePhone(%.40q): error %q quotes the input", tc.in, err)
		}
	}
}

func TestPersonKey(t *testing.T) {
	k := mustParse(t, testFile)
	hmacKey, _ := base64.StdEncoding.DecodeString(testKeys[0])
	mac := hmac.New(sha256.New, hmacKey)
	mac.Write([]byte("phone\x0013812345678"))
	if got, want := k.PersonKey(pii.KindPhone, "13812345678"), mac.Sum(nil); !bytes.Equal(got, want) {
		t.Errorf("PersonKey = %x, want HMAC-SHA256 of phone, 0 and the number: %x", got, want)
	}

	id := k.PersonKey(pii.KindID, "11010519491231002X")
	if len(id) != sha256.Size {
		t.Errorf("PersonKey has %d bytes, want %d", len(id), sha256.Size)
	}
	if !bytes.Equal(id, k.PersonKey(pii.KindID, "11010519491231002X")) {
		t.Error("PersonKey differs between two calls")
	}
	if !bytes.Equal(id, mustParse(t, testFile).PersonKey(pii.KindID, "11010519491231002X")) {
		t.Error("PersonKey differs between two keyrings of a file")
	}
	if bytes.Contains(id, []byte("11010519491231002X")) {
		t.Error("PersonKey holds the value")
	}
	// What must differ: the kind, the value, the hmac key, and where the
	// kind ends.
	for _, tc := range []struct {
		name string
		key  []byte
	}{
		{"another kind", k.PersonKey(pii.KindPhone, "11010519491231002X")},
		{"another value", k.PersonKey(pii.KindID, withCheck("11010519491231003"))},
		{"another hmac key", mustParse(t, "hmac "+testKeys[2]+"\ndata k1 "+testKeys[1]).PersonKey(pii.KindID, "11010519491231002X")},
		{"the kind's end moved", k.PersonKey("i", "d11010519491231002X")},
	} {
		if bytes.Equal(tc.key, id) {
			t.Errorf("%s gives the same PersonKey", tc.name)
		}
	}
	// Two spellings of a number, normalised, are one person.
	a, _ := pii.NormalizePhone("+86 138-1234-5678")
	b, _ := pii.NormalizePhone("１３８１２３４５６７８")
	if !bytes.Equal(k.PersonKey(pii.KindPhone, a), k.PersonKey(pii.KindPhone, b)) {
		t.Error("two spellings of a phone number give two PersonKeys")
	}
	c, _ := pii.NormalizeIDNumber("110105491231002")
	if !bytes.Equal(k.PersonKey(pii.KindID, c), id) {
		t.Error("the 15- and 18-character forms of an identity number give two PersonKeys")
	}
}

func TestNormalizeName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"张三", "张三"},
		{"  张三\t", "张三"},
		{"\u3000张\u3000三\u3000", "张 三"},
		{"阿卜杜拉·艾则孜", "阿卜杜拉·艾则孜"},
		{"Li   Xiao\nMing ", "Li Xiao Ming"},
		{" \t ", ""},
	} {
		if got := pii.NormalizeName(tc.in); got != tc.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
