package pii

import "strings"

// MaskPhone returns a normalised phone number with all but its first 3 and
// last 4 characters replaced by *, 138****5678, for staff who need to tell
// numbers apart, not to call them. A value of fewer than 8 characters is all
// stars.
func MaskPhone(s string) string {
	return mask(s, 3, 4, 8)
}

// MaskIDNumber returns a normalised identity number with all but its first
// 6 characters (the region) and last 4 replaced by *, 410303********1234,
// which hides the birth date. A value of fewer than 11 characters is all
// stars.
func MaskIDNumber(s string) string {
	return mask(s, 6, 4, 11)
}

// MaskName returns a name (after NormalizeName) with its first character
// and, from 3 characters on, its last one kept and the others replaced by *:
// 张*, 张*明, 欧**明. A one-character name is *.
func MaskName(s string) string {
	r := []rune(NormalizeName(s))
	switch len(r) {
	case 0:
		return ""
	case 1:
		return "*"
	case 2:
		return string(r[0]) + "*"
	}
	return string(r[0]) + strings.Repeat("*", len(r)-2) + string(r[len(r)-1])
}

// mask keeps the first head and last tail runes of s and replaces the others
// by *, or replaces them all if s has fewer than least runes.
func mask(s string, head, tail, least int) string {
	r := []rune(s)
	if len(r) < least {
		return strings.Repeat("*", len(r))
	}
	return string(r[:head]) + strings.Repeat("*", len(r)-head-tail) + string(r[len(r)-tail:])
}
