package cases

import (
	"crypto/rand"
	"fmt"
	"strconv"

	"github.com/xinfang/petition-operator/internal/xinfang"
)

// Case numbers: a year, a dash and a sequence of at least 7 digits,
// 2026-0001234.
const (
	// MaxCaseSeq is the largest sequence a case number takes (12 digits).
	MaxCaseSeq = 999_999_999_999
	// caseSeqDigits is the fewest digits of the sequence.
	caseSeqDigits = 7
	// maxCaseNo is the longest case number.
	maxCaseNo = 4 + 1 + 12
)

// FormatCaseNo writes the case number of the seq-th case of a year:
// 2026-0001234. The year has 4 digits (1000 to 9999) and seq is 1 to
// MaxCaseSeq, zero-padded to 7 digits; anything else is a programming
// error, and it panics.
func FormatCaseNo(year int, seq int64) string {
	if year < 1000 || year > 9999 || seq < 1 || seq > MaxCaseSeq {
		panic(fmt.Sprintf("cases: no case number for year %d and sequence %d", year, seq))
	}
	return fmt.Sprintf("%d-%0*d", year, caseSeqDigits, seq)
}

// ParseCaseNo reads a case number as FormatCaseNo writes it and nothing
// else: no sign, no space, no zero padding past 7 digits.
func ParseCaseNo(s string) (year int, seq int64, _ error) {
	bad := fmt.Errorf("%s is not a case number: a year, a dash and at least %d digits, e.g. 2026-0001234", xinfang.Quote(s), caseSeqDigits)
	if len(s) < 5+caseSeqDigits || len(s) > maxCaseNo || s[4] != '-' {
		return 0, 0, bad
	}
	digits := s[5:]
	if !allDigits(s[:4]) || !allDigits(digits) || s[0] == '0' || (len(digits) > caseSeqDigits && digits[0] == '0') {
		return 0, 0, bad
	}
	year, _ = strconv.Atoi(s[:4])
	seq, _ = strconv.ParseInt(digits, 10, 64)
	if seq < 1 {
		return 0, 0, bad
	}
	return year, seq, nil
}

// allDigits reports whether s is ASCII digits only.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// crockford is Crockford's base32 alphabet: no I, L, O or U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// QueryCodeLen is the length of a query code: 50 random bits.
const QueryCodeLen = 10

// maxQueryCodeInput bounds what NormalizeQueryCode reads.
const maxQueryCodeInput = 64

// NewQueryCode makes the code a petitioner queries a case with (GET
// /v1/petitions/{caseNo}?code=Q): QueryCodeLen characters of Crockford's
// base32 from crypto/rand.
func NewQueryCode() (string, error) {
	var b [QueryCodeLen]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("query code: %w", err)
	}
	for i := range b {
		// 256 is a multiple of 32: each character is uniform.
		b[i] = crockford[b[i]%32]
	}
	return string(b[:]), nil
}

// NormalizeQueryCode reads a query code as a person types it: in any case,
// with spaces or dashes, O for 0 and I or L for 1. ok is false when what
// remains is not QueryCodeLen characters of Crockford's base32, or s is
// longer than a code written out could be.
func NormalizeQueryCode(s string) (code string, ok bool) {
	if len(s) > maxQueryCodeInput {
		return "", false
	}
	var b [QueryCodeLen]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '-' {
			continue
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		switch c {
		case 'O':
			c = '0'
		case 'I', 'L':
			c = '1'
		}
		if n == QueryCodeLen || !isCrockford(c) {
			return "", false
		}
		b[n] = c
		n++
	}
	if n != QueryCodeLen {
		return "", false
	}
	return string(b[:]), true
}

// isCrockford reports whether c is a character of crockford.
func isCrockford(c byte) bool {
	return ('0' <= c && c <= '9') || ('A' <= c && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U')
}
