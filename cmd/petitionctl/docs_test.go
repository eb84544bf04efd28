package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsExamples runs the petitionctl examples of docs/cli.md from the
// repository's root and compares their output with the page's: every
// "$ petitionctl …" line of a text block, followed by the lines it prints.
// An example on a path the repository does not hold (a checkout of main
// beside it) is skipped; the tests of its command cover it.
func TestDocsExamples(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(root, "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	examples := docExamples(string(page))
	if len(examples) < 3 {
		t.Fatalf("docs/cli.md has %d examples, want at least 3", len(examples))
	}
	ran := 0
	for _, ex := range examples {
		args, err := shellWords(strings.TrimPrefix(ex.command, "petitionctl "))
		if err != nil {
			t.Fatalf("%s: %v", ex.command, err)
		}
		if missingPath(args) {
			t.Logf("skipped, on a path the repository does not hold: %s", ex.command)
			continue
		}
		code, out, errOut := runCode(args...)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", ex.command, code, errOut)
			continue
		}
		if strings.TrimRight(out, "\n") != ex.output {
			t.Errorf("$ %s\nprints:\n%s\ndocs/cli.md says:\n%s", ex.command, out, ex.output)
		}
		ran++
	}
	if ran == 0 {
		t.Error("no example of docs/cli.md ran")
	}
}

type docExample struct{ command, output string }

// docExamples are the "$ petitionctl" commands of the page's text blocks
// and what each prints.
func docExamples(page string) []docExample {
	var out []docExample
	var cur *docExample
	var lines []string
	flush := func() {
		if cur != nil {
			cur.output = strings.Join(lines, "\n")
			out = append(out, *cur)
		}
		cur, lines = nil, nil
	}
	inText := false
	for _, l := range strings.Split(page, "\n") {
		switch {
		case l == "```text":
			inText = true
		case inText && l == "```":
			flush()
			inText = false
		case inText && strings.HasPrefix(l, "$ "):
			flush()
			if cmd := strings.TrimPrefix(l, "$ "); strings.HasPrefix(cmd, "petitionctl ") {
				cur = &docExample{command: cmd}
			}
		case cur != nil:
			lines = append(lines, l)
		}
	}
	return out
}

// missingPath reports whether a path argument (of -f, -k, --before,
// --after) does not exist.
func missingPath(args []string) bool {
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-f", "-k", "--before", "--after", "--before-kustomize", "--after-kustomize":
			if _, err := os.Stat(args[i+1]); err != nil {
				return true
			}
		}
	}
	return false
}

// shellWords splits a command line as a POSIX shell would for the quoting
// the examples use: words separated by spaces, single quotes kept literal,
// double quotes with \" and \\ escapes.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errUnclosedQuote
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errUnclosedQuote
			}
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

var errUnclosedQuote = errors.New("a quote is not closed")
