package pii

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// maxRunes bounds the input of NormalizePhone and NormalizeIDNumber, checked
// before any other work.
const maxRunes = 32

var (
	// ErrPhone is wrapped by the errors of NormalizePhone, which never quote
	// the input.
	ErrPhone = errors.New("pii: not a phone number")
	// ErrIDNumber is wrapped by the errors of NormalizeIDNumber, which never
	// quote the input.
	ErrIDNumber = errors.New("pii: not a resident identity number")
)

const phoneRule = "want a mobile number of 11 digits starting 13 to 19, " +
	"alone or after +86, 0086 or 86, or a landline number of 0, " +
	"a 2-digit area code for 010 and 02X or a 3-digit one for the others, " +
	"and a 7- or 8-digit number (such as 0377-63123456), " +
	"in digits (full-width or not) that spaces, dashes, parentheses and dots may separate"

const idRuleNumber = "want the 18 characters of a resident identity number " +
	"(17 digits and a check digit or X) or the 15 digits of the old form, " +
	"full-width or not, that spaces may separate"

// tooLong reports whether s has more than maxRunes runes, looking at no more
// than maxRunes*utf8.UTFMax bytes.
func tooLong(s string) bool {
	return len(s) > maxRunes*utf8.UTFMax || utf8.RuneCountInString(s) > maxRunes
}

// NormalizePhone returns the digits of a mainland China phone number: an
// 11-digit mobile number 1[3-9]XXXXXXXXX, without the +86, 0086 or 86 it
// may follow, or a landline number of 0, the area code and the local number
// (0377-63123456 is 037763123456), where the area code after the 0 has 2
// digits for 010 and 02X and 3 for the others, and the local number 7 or 8.
// Full-width digits count as digits; spaces, dashes, parentheses and dots are
// dropped, and a + may only come before 86 and a mobile number. The input is
// at most 32 characters. The result normalises to itself.
func NormalizePhone(s string) (string, error) {
	if tooLong(s) {
		return "", fmt.Errorf("%w: more than %d characters; %s", ErrPhone, maxRunes, phoneRule)
	}
	d := make([]byte, 0, 16)
	plus := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			d = append(d, byte(r))
		case r >= '０' && r <= '９':
			d = append(d, byte(r-'０'+'0'))
		case r == '+' || r == '＋':
			if plus || len(d) > 0 {
				return "", fmt.Errorf("%w: a + that does not start the number; %s", ErrPhone, phoneRule)
			}
			plus = true
		case isPhoneSeparator(r):
		default:
			return "", fmt.Errorf("%w: a character other than a digit or separator; %s", ErrPhone, phoneRule)
		}
	}
	switch {
	case plus:
		if len(d) == 13 && string(d[:2]) == "86" && isMobile(d[2:]) {
			return string(d[2:]), nil
		}
		return "", fmt.Errorf("%w: an international number other than +86 and a mobile number; %s", ErrPhone, phoneRule)
	case isMobile(d):
		return string(d), nil
	case len(d) == 13 && string(d[:2]) == "86" && isMobile(d[2:]):
		return string(d[2:]), nil
	case len(d) == 15 && string(d[:4]) == "0086" && isMobile(d[4:]):
		return string(d[4:]), nil
	case isLandline(d):
		return string(d), nil
	}
	return "", fmt.Errorf("%w: %d digits that are neither a mobile nor a landline number; %s", ErrPhone, len(d), phoneRule)
}

// isPhoneSeparator reports whether r may separate the digits of a phone
// number: a space, tab, dash, parenthesis or dot, ASCII or full-width.
func isPhoneSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '\u3000', '-', '－', '(', ')', '（', '）', '.', '．':
		return true
	}
	return false
}

// isMobile reports whether d is a mainland mobile number, 11 digits starting
// 13 to 19.
func isMobile(d []byte) bool {
	return len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9'
}

// isLandline reports whether d is 0, an area code (2 digits for 010 and 02X,
// 3 for the others) and a local number of 7 or 8 digits.
func isLandline(d []byte) bool {
	if len(d) < 3 || d[0] != '0' || d[1] == '0' {
		return false
	}
	area := 4
	if d[1] == '1' || d[1] == '2' {
		area = 3
	}
	local := len(d) - area
	return local == 7 || local == 8
}

// NormalizeIDNumber returns the 18 characters of a resident identity number
// (GB 11643): 17 digits and a check character, a digit or X, which the ISO
// 7064 MOD 11-2 checksum of the 17 digits must give. Full-width digits and a
// lower-case or full-width x are accepted and spaces dropped; the X of the
// result is upper case. Characters 7 to 14 must be a birth date from
// 1900-01-01 to 2100-12-31; the region code (the first 6) is not checked.
// The old 15-digit form, issued before 1999 to people born in the 1900s, is
// converted: "19" goes before its 2-digit birth year and the check character
// is computed. The input is at most 32 characters. The result normalises to
// itself.
func NormalizeIDNumber(s string) (string, error) {
	if tooLong(s) {
		return "", fmt.Errorf("%w: more than %d characters; %s", ErrIDNumber, maxRunes, idRuleNumber)
	}
	b := make([]byte, 0, 18)
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b = append(b, byte(r))
		case r >= '０' && r <= '９':
			b = append(b, byte(r-'０'+'0'))
		case r == 'X' || r == 'x' || r == 'Ｘ' || r == 'ｘ':
			b = append(b, 'X')
		case r == ' ' || r == '\t' || r == '\u3000':
		default:
			return "", fmt.Errorf("%w: a character other than a digit, X or space; %s", ErrIDNumber, idRuleNumber)
		}
	}
	switch len(b) {
	case 15:
		if !allDigits(b) {
			return "", fmt.Errorf("%w: an X in the 15-digit form, which has none; %s", ErrIDNumber, idRuleNumber)
		}
		b = append(b[:6], append([]byte("19"), b[6:]...)...)
		b = append(b, checkCharacter(b))
	case 18:
		if !allDigits(b[:17]) {
			return "", fmt.Errorf("%w: an X before the last character; %s", ErrIDNumber, idRuleNumber)
		}
		if checkCharacter(b[:17]) != b[17] {
			return "", fmt.Errorf("%w: the check character (the last) does not match the 17 digits before it", ErrIDNumber)
		}
	default:
		return "", fmt.Errorf("%w: %d digits and X; %s", ErrIDNumber, len(b), idRuleNumber)
	}
	if !validBirthDate(b[6:14]) {
		return "", fmt.Errorf("%w: characters 7 to 14 are not a birth date YYYYMMDD from 1900-01-01 to 2100-12-31", ErrIDNumber)
	}
	return string(b), nil
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// idWeights are the weights of the 17 digits of an identity number in its
// checksum: 2^(17-i) mod 11 for the digit at index i.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// checkCharacter returns the ISO 7064 MOD 11-2 check character of the 17
// digits of an identity number: the c in 0-9 or X (10) for which the
// weighted sum of the digits plus c is 1 modulo 11.
func checkCharacter(digits []byte) byte {
	sum := 0
	for i, c := range digits[:17] {
		sum += int(c-'0') * idWeights[i]
	}
	c := (12 - sum%11) % 11
	if c == 10 {
		return 'X'
	}
	return byte('0' + c)
}

// validBirthDate reports whether the 8 digits d are a date YYYYMMDD from
// 1900-01-01 to 2100-12-31.
func validBirthDate(d []byte) bool {
	n := func(b []byte) int {
		v := 0
		for _, c := range b {
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := n(d[:4]), n(d[4:6]), n(d[6:8])
	if year < 1900 || year > 2100 || month < 1 || month > 12 || day < 1 {
		return false
	}
	// Day 0 of the next month is the last day of this one.
	return day <= time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Kinds of PersonKey.
const (
	// KindID is the kind of a PersonKey of a normalised identity number.
	KindID = "id"
	// KindPhone is the kind of a PersonKey of a normalised phone number.
	KindPhone = "phone"
)

// PersonKey returns the HMAC-SHA256, under the key file's hmac key, of kind,
// a zero byte and normalized: the value stored and compared to find the
// petitions of the same person, in place of the identity number (KindID) or
// phone number (KindPhone) itself. Equal values of a kind give equal keys;
// the value is normalised first (NormalizeIDNumber, NormalizePhone), or the
// same person gets another key.
func (k *Keyring) PersonKey(kind, normalized string) []byte {
	mac := hmac.New(sha256.New, k.hmacKey)
	mac.Write([]byte(kind))
	mac.Write([]byte{0})
	mac.Write([]byte(normalized))
	return mac.Sum(nil)
}

// NormalizeName returns a name for display: without the white space around
// it, and with each run of white space inside it one space.
func NormalizeName(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
