package objfiles

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// budgetError returns the *BudgetError errs end with, failing the test when
// there is none or when other errors precede it.
func budgetError(t *testing.T, errs []error) *BudgetError {
	t.Helper()
	if len(errs) != 1 {
		t.Fatalf("errors = %v, want exactly one budget error", errs)
	}
	var be *BudgetError
	if !errors.As(errs[0], &be) {
		t.Fatalf("error = %v (%T), want a *BudgetError", errs[0], errs[0])
	}
	return be
}

func TestReadDocumentsDocumentBudget(t *testing.T) {
	office := officeYAML("city", v1alpha1.LevelCity, "")
	// Documents of n entries: one Office, the rest plain YAML or empty.
	stream := func(n int) string {
		var b strings.Builder
		b.WriteString(office)
		for i := 1; i < n; i++ {
			if i%2 == 0 {
				b.WriteString("---\n# empty\n")
			} else {
				fmt.Fprintf(&b, "---\nk: %d\n", i)
			}
		}
		return b.String()
	}
	t.Run("at the limit", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "docs.yaml", stream(MaxDocuments))
		docs, errs := ReadDocuments(dir)
		if len(errs) != 0 {
			t.Fatalf("errors = %v, want none", errs)
		}
		// The empty documents count, but are not returned.
		if want := MaxDocuments/2 + 1; len(docs) != want {
			t.Errorf("%d documents, want %d", len(docs), want)
		}
		set, err := Load(dir)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if got := officeNames(set); !slices.Equal(got, []string{"city"}) {
			t.Errorf("offices = %q, want [city]", got)
		}
	})
	t.Run("one more", func(t *testing.T) {
		dir := t.TempDir()
		path := write(t, dir, "docs.yaml", stream(MaxDocuments+1))
		_, errs := ReadDocuments(dir)
		be := budgetError(t, errs)
		want := fmt.Sprintf("reading manifests: more than 20000 documents in all (the limit), reached at %s: document 20001; split the input", path)
		if be.Error() != want {
			t.Errorf("error = %q, want %q", be, want)
		}
		if _, err := Load(dir); err == nil || err.Error() != want {
			t.Errorf("Load error = %v, want %q", err, want)
		}
	})
	t.Run("across files and paths", func(t *testing.T) {
		dir := t.TempDir()
		a := write(t, dir, "a.yaml", stream(MaxDocuments/2))
		write(t, dir, "b/c.yaml", stream(MaxDocuments/2-1))
		if _, errs := ReadDocuments(dir); len(errs) != 0 {
			t.Fatalf("errors = %v, want none", errs)
		}
		// The same file given again counts again; reading stops there.
		other := write(t, t.TempDir(), "late.yaml", office)
		_, errs := ReadDocuments(dir, a, other)
		be := budgetError(t, errs)
		if !strings.Contains(be.At, a+": document 2") {
			t.Errorf("budget reached at %q, want at %s: document 2", be.At, a)
		}
	})
}

func TestReadDocumentsOnlySeparators(t *testing.T) {
	// Lines of "---" only: two lines make one empty document. They are
	// counted, never parsed nor held.
	dir := t.TempDir()
	write(t, dir, "under.yaml", strings.Repeat("---\n", 2*MaxDocuments))
	docs, errs := ReadDocuments(dir)
	if len(docs) != 0 || len(errs) != 0 {
		t.Errorf("ReadDocuments = %d documents, errors %v; want neither", len(docs), errs)
	}
	path := write(t, dir, "over.yaml", strings.Repeat("---\n", 8<<20/4))
	docs, errs = ReadDocuments(path)
	if len(docs) != 0 {
		t.Errorf("%d documents, want none", len(docs))
	}
	if be := budgetError(t, errs); be.What != "documents" || be.Limit != MaxDocuments {
		t.Errorf("budget error = %+v, want the document budget", be)
	}
}

func TestReadDocumentsByteBudget(t *testing.T) {
	dir := t.TempDir()
	// One file of exactly MaxFileBytes: comment lines, a separator every
	// thousand lines, and the Office last.
	var b strings.Builder
	office := officeYAML("city", v1alpha1.LevelCity, "")
	line := "# " + strings.Repeat("x", 77) + "\n"
	for n := 1; b.Len()+len(line)+len("---\n")+len(office) <= MaxFileBytes; n++ {
		if n%1000 == 0 {
			b.WriteString("---\n")
			continue
		}
		b.WriteString(line)
	}
	b.WriteString(strings.Repeat("\n", MaxFileBytes-b.Len()-len("---\n")-len(office)))
	b.WriteString("---\n" + office)
	if b.Len() != MaxFileBytes {
		t.Fatalf("built %d bytes, want %d", b.Len(), MaxFileBytes)
	}
	full := write(t, dir, "full.yaml", b.String())
	const files = MaxTotalBytes / MaxFileBytes
	paths := slices.Repeat([]string{full}, files)

	// ReadDocuments is readDocuments with a new budget: what is left of
	// one after these files is what any file given after them meets, so
	// the 64 MiB are read once for the files that follow (under -race,
	// each reading of them takes seconds).
	left := newBudget()
	docs, errs := readDocuments(left, paths...)
	if len(errs) != 0 {
		t.Fatalf("%d files of %d bytes: errors %v, want none", files, MaxFileBytes, errs)
	}
	if len(docs) != files {
		t.Errorf("%d documents, want %d (one Office per file)", len(docs), files)
	}
	if left.bytes != 0 {
		t.Errorf("%d bytes of the budget left after %d files of %d bytes, want none", left.bytes, files, MaxFileBytes)
	}

	for _, extra := range []string{"\n", b.String()} {
		last := write(t, t.TempDir(), "last.yaml", extra)
		rest := *left
		docs, errs := readDocuments(&rest, last)
		be := budgetError(t, errs)
		want := fmt.Sprintf("reading manifests: more than 67108864 bytes (64 MiB) in all (the limit), reached at %s; split the input", last)
		if be.Error() != want {
			t.Errorf("error = %q, want %q", be, want)
		}
		if len(docs) != 0 {
			t.Errorf("%d documents of the file over the budget, want none", len(docs))
		}
	}
	// An empty file adds nothing.
	empty := write(t, dir, "empty.yaml", "")
	rest := *left
	if _, errs := readDocuments(&rest, empty); len(errs) != 0 {
		t.Errorf("with an empty file: errors %v, want none", errs)
	}
	// ReadDocuments and Load refuse the input over the budget, having
	// returned the documents read before it.
	over := append(paths, full)
	docs, errs = ReadDocuments(over...)
	if be := budgetError(t, errs); be.What != "bytes" || be.At != full {
		t.Errorf("budget error = %+v, want the byte budget at %s", be, full)
	}
	if len(docs) != files {
		t.Errorf("%d documents before the budget ran out, want %d", len(docs), files)
	}
	if _, err := Load(over...); err == nil || !strings.Contains(err.Error(), "more than 67108864 bytes") {
		t.Errorf("Load error = %v, want the byte budget", err)
	}
}

func TestBlank(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		want bool
	}{
		{"", true},
		{"---\n", true},
		{"--- # a comment\n\n  # indented comment\n  \n", true},
		{"\t\t#\n", false},
		{"---\t# c\n", false},
		{"---\r\n# windows\r\n", true},
		{"k: v\n", false},
		{"# comment\nk: v\n", false},
		{"---#x\n", false},
		{"  ---\n", false},
		{"...\n", false},
		{"# caf\xc3\xa9\n", false},
		{"#\xef0\n", false},
		{"# a\rk: v\n", false},
		{"# \x00\n", false},
	} {
		if got := blank([]byte(tt.raw)); got != tt.want {
			t.Errorf("blank(%q) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}
