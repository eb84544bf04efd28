package cases

import (
	"fmt"
	"strings"
	"testing"
)

func TestCaseNo(t *testing.T) {
	for _, c := range []struct {
		year int
		seq  int64
		want string
	}{
		{2026, 1, "2026-0000001"},
		{2026, 1234, "2026-0001234"},
		{2026, 9_999_999, "2026-9999999"},
		{2026, 10_000_000, "2026-10000000"},
		{1000, 42, "1000-0000042"},
		{9999, MaxCaseSeq, "9999-999999999999"},
	} {
		got := FormatCaseNo(c.year, c.seq)
		if got != c.want {
			t.Errorf("FormatCaseNo(%d, %d) = %q, want %q", c.year, c.seq, got, c.want)
		}
		year, seq, err := ParseCaseNo(got)
		if err != nil || year != c.year || seq != c.seq {
			t.Errorf("ParseCaseNo(%q) = %d, %d, %v", got, year, seq, err)
		}
	}
}

func TestParseCaseNoRefusals(t *testing.T) {
	for _, s := range []string{
		"",
		"2026",
		"2026-",
		"2026-123456",
		"2026-0000000",
		"2026-00012345",
		"2026-0001234 ",
		" 2026-0001234",
		"2026-0001234\n",
		"2026_0001234",
		"2026--001234",
		"2026-+001234",
		"2026-000123a",
		"0999-0000001",
		"+026-0001234",
		"26-0001234",
		"20260-001234",
		"２０２６-0001234",
		"2026-1000000000000",
		strings.Repeat("2026-0001234", 100),
	} {
		year, seq, err := ParseCaseNo(s)
		if err == nil {
			t.Errorf("ParseCaseNo(%q) = %d, %d", s, year, seq)
			continue
		}
		if !strings.Contains(err.Error(), "is not a case number") || len(err.Error()) > 200 {
			t.Errorf("ParseCaseNo(%.40q): %v", s, err)
		}
	}
}

func TestFormatCaseNoPanics(t *testing.T) {
	for _, c := range []struct {
		year int
		seq  int64
	}{{999, 1}, {10000, 1}, {2026, 0}, {2026, -1}, {2026, MaxCaseSeq + 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("FormatCaseNo(%d, %d) did not panic", c.year, c.seq)
				}
			}()
			FormatCaseNo(c.year, c.seq)
		}()
	}
}

func TestQueryCode(t *testing.T) {
	seen := map[string]bool{}
	chars := map[rune]bool{}
	for range 2000 {
		code, err := NewQueryCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(code) != QueryCodeLen || strings.Trim(code, crockford) != "" {
			t.Fatalf("NewQueryCode() = %q", code)
		}
		if seen[code] {
			t.Fatalf("%s twice", code)
		}
		seen[code] = true
		for _, r := range code {
			chars[r] = true
		}
		if got, ok := NormalizeQueryCode(code); !ok || got != code {
			t.Fatalf("NormalizeQueryCode(%q) = %q, %v", code, got, ok)
		}
	}
	if len(chars) != len(crockford) {
		t.Errorf("2000 codes use %d characters, want all %d", len(chars), len(crockford))
	}
}

func TestNormalizeQueryCode(t *testing.T) {
	for in, want := range map[string]string{
		"ABCDEFGHJK":      "ABCDEFGHJK",
		"abcd-efgh-jk":    "ABCDEFGHJK",
		" ab cd ef gh jk": "ABCDEFGHJK",
		"oO1iIlL000":      "0011111000",
		"0123456789":      "0123456789",
		"MNPQRSTVWX":      "MNPQRSTVWX",
		"yz-yz-yz-yz":     "YZYZYZYZ",
	} {
		got, ok := NormalizeQueryCode(in)
		if want == "YZYZYZYZ" {
			if ok {
				t.Errorf("NormalizeQueryCode(%q) = %q, want refused (8 characters)", in, got)
			}
			continue
		}
		if !ok || got != want {
			t.Errorf("NormalizeQueryCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{
		"",
		"ABCDEFGHJ",
		"ABCDEFGHJKM",
		"ABCDEFGHJU",
		"ABCDEFGHJ*",
		"ABCDEFGHJ\t",
		"ABCDEFGHJＫ",
		"ABCDE_FGHJ",
		strings.Repeat(" ", 60) + "ABCDEFGHJK",
	} {
		if got, ok := NormalizeQueryCode(in); ok {
			t.Errorf("NormalizeQueryCode(%q) = %q, want refused", in, got)
		}
	}
}

func ExampleFormatCaseNo() {
	fmt.Println(FormatCaseNo(2026, 1234))
	year, seq, _ := ParseCaseNo("2026-0001234")
	fmt.Println(year, seq)
	// Output:
	// 2026-0001234
	// 2026 1234
}
