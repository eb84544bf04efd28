package main

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// printable returns s as a table or a line may show it on a terminal: as it
// is when every character of it is graphic (letters of any script, such as
// 镇平县信访局, marks, numbers, punctuation, symbols and spaces), else
// quoted with Go's escapes (strconv.QuoteToGraphic), so that a name, a
// display name or a message read from files or a cluster cannot move the
// cursor, clear the screen, retitle the window, shift a table's columns
// (a tab, a newline) or reorder the text around it (bidirectional
// controls). JSON output is escaped by encoding/json and does not use it.
func printable(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !strconv.IsGraphic(r) {
			return strconv.QuoteToGraphic(s)
		}
	}
	return s
}

// printableLines is printable for each line of s, keeping its line breaks
// and the tabs that indent a line: an error message of several lines, such
// as a usage error with its suggestions, reads as it was written, while
// any other control character in it is escaped.
func printableLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		rest := strings.TrimLeft(l, "\t")
		lines[i] = l[:len(l)-len(rest)] + printable(rest)
	}
	return strings.Join(lines, "\n")
}

// row joins the cells of a table row, each printable.
func row(cells ...string) string {
	for i, c := range cells {
		cells[i] = printable(c)
	}
	return strings.Join(cells, "\t")
}

// printables is printable for each of names.
func printables(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = printable(n)
	}
	return out
}
