// Package objfiles reads the objects of this API from YAML or JSON files, as
// a GitOps repository holds them, into an xinfang.Snapshot, for
// petitionctl's offline mode.
package objfiles

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// MaxFileBytes bounds the size of one manifest file.
const MaxFileBytes = 8 << 20

var codecs = func() serializer.CodecFactory {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return serializer.NewCodecFactory(s, serializer.EnableStrict)
}()

// MaxDocumentBytes bounds one YAML or JSON document: the largest object
// etcd stores with its default request limit (1.5 MiB). The API server
// refuses a larger object; petitionctl refuses it before parsing.
const MaxDocumentBytes = 3 << 19

// Document is one YAML or JSON document of a manifest file, or one object
// of a kustomization's output (see Kustomize).
type Document struct {
	// File is the path of the file holding the document.
	File string
	// Index is the document's position in the file, from 1.
	Index int
	// Line is the line of File where the document starts, from 1: the
	// first line after its "---" separator, if it has one. It is 0 when
	// unknown.
	Line int
	// Raw is the document's text.
	Raw []byte
	// Text is the document as File holds it, from Line on, to locate its
	// fields (FieldLine); empty when unknown. For a document read from a
	// file it is Raw, less the separator line Raw starts with, if it does
	// and more follows (utilyaml.YAMLReader keeps the "---" that starts a
	// file in its first document).
	Text []byte

	// object is "<Kind>/<name>" for an object of a kustomization's
	// output, which String names by it.
	object string
}

// String names the document for error messages: "<file>: document <n>",
// or "<file>: <Kind>/<name>" for an object of a kustomization's output.
func (d Document) String() string {
	if d.object != "" {
		return fmt.Sprintf("%s: %s", d.File, d.object)
	}
	return fmt.Sprintf("%s: document %d", d.File, d.Index)
}

// DocumentError is the error of a document that cannot be read or is too
// large: "<file>: document <n>: <error>".
type DocumentError struct {
	// Document is the document; its Raw and Text are empty.
	Document Document
	Err      error
}

func (e *DocumentError) Error() string { return fmt.Sprintf("%s: %v", e.Document, e.Err) }

func (e *DocumentError) Unwrap() error { return e.Err }

// FileError is the error of a file that cannot be read or is too large:
// "<file>: <error>".
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s: %v", e.File, e.Err) }

func (e *FileError) Unwrap() error { return e.Err }

// Load reads every .yaml, .yml and .json file under the given paths (files
// or directories, recursively). Documents of other API groups are skipped, as
// a GitOps repository holds many kinds; documents of this group must decode
// strictly (no unknown or duplicate fields). It stops at the first error.
func Load(paths ...string) (*xinfang.Snapshot, error) {
	return load(ReadDocuments(paths...))
}

func load(docs []Document, errs []error) (*xinfang.Snapshot, error) {
	if len(errs) > 0 {
		return nil, errs[0]
	}
	snap := &xinfang.Snapshot{}
	for _, d := range docs {
		if err := Add(snap, d.Raw); err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
	}
	snap.Sort()
	return snap, nil
}

// The budgets of one reading, over all the files and directories given
// together: MaxFileBytes and MaxDocumentBytes bound one file and one
// document, these bound their sum, so that no input, however it is split,
// makes petitionctl read or hold more. Every document counts, empty and
// comment-only ones too (they cost little each, but not nothing).
const (
	// MaxTotalBytes bounds the bytes read from all files together.
	MaxTotalBytes = 64 << 20
	// MaxDocuments bounds the documents of all files together.
	MaxDocuments = 20000
)

// BudgetError is the error of an input over MaxTotalBytes or MaxDocuments,
// or of a kustomize build over MaxKustomizeListItems or MaxKustomizeTime.
// Reading stops there: what was read so far is not the whole input.
type BudgetError struct {
	// What is the budget's unit: "bytes", "documents", "items in one list"
	// or "seconds of kustomize".
	What string
	// Limit is the budget.
	Limit int
	// At names the file (and document) where the budget ran out.
	At string
}

func (e *BudgetError) Error() string {
	switch e.What {
	case "items in one list":
		return fmt.Sprintf("reading manifests: a list of more than %d items (the limit: the most any list of this API holds, and a bound on kustomize's merges) at %s", e.Limit, e.At)
	case "seconds of kustomize":
		return fmt.Sprintf("reading manifests: the kustomization %s took more than %d seconds to build (the limit)", e.At, e.Limit)
	}
	limit := fmt.Sprintf("%d %s", e.Limit, e.What)
	if e.What == "bytes" && e.Limit%(1<<20) == 0 {
		limit += fmt.Sprintf(" (%d MiB)", e.Limit>>20)
	}
	return fmt.Sprintf("reading manifests: more than %s in all (the limit), reached at %s; split the input", limit, e.At)
}

// budget is what is left of the budgets of one reading.
type budget struct {
	bytes, documents int
}

func newBudget() *budget { return &budget{bytes: MaxTotalBytes, documents: MaxDocuments} }

// takeDocument counts the document d against b: a *BudgetError naming d
// when no document is left.
func (b *budget) takeDocument(d Document) error {
	if b.documents == 0 {
		return &BudgetError{What: "documents", Limit: MaxDocuments, At: d.String()}
	}
	b.documents--
	return nil
}

// oversize is the *DocumentError of a document d whose text raw is larger
// than MaxDocumentBytes, or nil.
func oversize(d Document, raw []byte) error {
	if len(raw) <= MaxDocumentBytes {
		return nil
	}
	return &DocumentError{Document: d,
		Err: fmt.Errorf("%d bytes, larger than the %d bytes the API server stores in one object", len(raw), MaxDocumentBytes)}
}

// ReadDocuments splits every manifest file under paths into its documents.
// It goes on past a file it cannot read, a file larger than MaxFileBytes
// and a document larger than MaxDocumentBytes, and returns an error for
// each, naming the file (and document). It stops at MaxTotalBytes or
// MaxDocuments, with a *BudgetError last. Empty and comment-only documents
// are counted but not returned.
func ReadDocuments(paths ...string) ([]Document, []error) {
	return readDocuments(newBudget(), paths...)
}

func readDocuments(b *budget, paths ...string) ([]Document, []error) {
	var docs []Document
	var errs []error
	for _, p := range paths {
		files, err := expand(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range files {
			d, err := readFile(f, b)
			docs = append(docs, d...)
			errs = append(errs, err...)
			if overBudget(err) {
				return docs, errs
			}
		}
	}
	return docs, errs
}

// overBudget reports whether errs end with a *BudgetError.
func overBudget(errs []error) bool {
	var be *BudgetError
	return len(errs) > 0 && errors.As(errs[len(errs)-1], &be)
}

// Stdin, given as a path, reads standard input, as kubectl -f - does: once,
// so that a second - reads nothing more. Its documents and errors name it
// StdinName.
const Stdin = "-"

// StdinName names standard input in documents and errors.
const StdinName = "<stdin>"

func expand(p string) ([]string, error) {
	if p == Stdin {
		return []string{p}, nil
	}
	info, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				files = append(files, path)
			}
		}
		return nil
	})
	return files, err
}

func readFile(path string, b *budget) ([]Document, []error) {
	var f io.Reader
	if path == Stdin {
		f, path = os.Stdin, StdinName
	} else {
		file, err := os.Open(path)
		if err != nil {
			return nil, []error{err}
		}
		defer func() { _ = file.Close() }()
		f = file
	}
	limit := min(MaxFileBytes, b.bytes)
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, []error{&FileError{File: path, Err: err}}
	}
	b.bytes -= len(data)
	if len(data) > limit {
		if limit < MaxFileBytes {
			return nil, []error{&BudgetError{What: "bytes", Limit: MaxTotalBytes, At: path}}
		}
		return nil, []error{&FileError{File: path, Err: fmt.Errorf("larger than %d bytes", MaxFileBytes)}}
	}
	return split(path, data, b)
}

// split splits the text of one file into its documents, counting them
// against b.
func split(path string, data []byte, b *budget) ([]Document, []error) {
	var docs []Document
	var errs []error
	reader := utilyaml.NewYAMLReader(bufio.NewReaderSize(bytes.NewReader(data), 64<<10))
	at := lines{data: data, n: 1}
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, errs
		}
		d := Document{File: path, Index: doc, Line: at.n}
		// The reader keeps a separator that starts a document in it.
		text := raw
		if rest := raw[bytes.IndexByte(raw, '\n')+1:]; bytes.HasPrefix(raw, []byte(separator)) && len(rest) > 0 {
			d.Line++
			text = rest
		}
		if err := b.takeDocument(d); err != nil {
			return docs, append(errs, err)
		}
		if err != nil {
			return docs, append(errs, &DocumentError{Document: d, Err: err})
		}
		at.next(raw)
		if err := oversize(d, raw); err != nil {
			errs = append(errs, err)
			continue
		}
		if blank(raw) {
			continue
		}
		d.Raw, d.Text = raw, text
		docs = append(docs, d)
	}
}

// lines follows the lines of a file as utilyaml.YAMLReader reads them into
// documents. It reads lines ending in "\n" (dropping a "\r" before it),
// each into one line of a document, but for the separator that ends a
// document: a line starting with "---" after the first line of the
// document.
type lines struct {
	data []byte
	// pos is the offset in data of line n, from 1.
	pos, n int
}

// next moves past the lines of raw, a document read at the cursor, and the
// separator that ended it, if one did.
func (l *lines) next(raw []byte) {
	l.skip(bytes.Count(raw, []byte("\n")))
	if bytes.HasPrefix(l.data[l.pos:], []byte(separator)) {
		l.skip(1)
	}
}

// skip moves past n lines.
func (l *lines) skip(n int) {
	for range n {
		i := bytes.IndexByte(l.data[l.pos:], '\n')
		if i < 0 {
			l.pos = len(l.data)
		} else {
			l.pos += i + 1
		}
		l.n++
	}
}

// separator starts a line that separates the documents of a file.
const separator = "---"

// blank reports whether a document holds nothing but blank lines, comments
// and document separators, without parsing it. Only printable ASCII, with
// lines ending in "\n" or "\r\n", counts as blank: YAML refuses some other
// bytes even in a comment (a tab before one, invalid UTF-8) and reads a lone
// "\r" as a line break, so such documents go to the parser.
func blank(raw []byte) bool {
	for line := range bytes.Lines(raw) {
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		for _, c := range line {
			if c < ' ' || c > '~' {
				return false
			}
		}
		if rest, ok := bytes.CutPrefix(line, []byte("---")); ok {
			if len(rest) > 0 && rest[0] != ' ' {
				return false
			}
			line = rest
		}
		line = bytes.TrimLeft(line, " ")
		if len(line) > 0 && line[0] != '#' {
			return false
		}
	}
	return true
}

// TypeOf returns the apiVersion and kind of a document, and whether it
// belongs to this API's group. An empty or comment-only document has
// neither.
func TypeOf(raw []byte) (schema.GroupVersionKind, bool, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return schema.GroupVersionKind{}, false, nil
	}
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := utilyaml.Unmarshal(raw, &meta); err != nil {
		return schema.GroupVersionKind{}, false, err
	}
	if meta.APIVersion == "" && meta.Kind == "" {
		return schema.GroupVersionKind{}, false, nil
	}
	gv, err := schema.ParseGroupVersion(meta.APIVersion)
	if err != nil {
		return schema.GroupVersionKind{}, false, err
	}
	return gv.WithKind(meta.Kind), gv.Group == v1alpha1.GroupVersion.Group, nil
}

// Add decodes one document strictly into s. Documents of other API groups,
// empty and comment-only documents are skipped.
func Add(s *xinfang.Snapshot, raw []byte) error {
	gvk, ours, err := TypeOf(raw)
	if err != nil || !ours {
		return err
	}
	obj, _, err := codecs.UniversalDeserializer().Decode(raw, nil, nil)
	if err != nil {
		return err
	}
	switch o := obj.(type) {
	case *v1alpha1.Office:
		s.Offices = append(s.Offices, *o)
	case *v1alpha1.RoutingPolicy:
		s.RoutingPolicies = append(s.RoutingPolicies, *o)
	case *v1alpha1.EscalationPolicy:
		s.EscalationPolicies = append(s.EscalationPolicies, *o)
	case *v1alpha1.HolidayCalendar:
		s.HolidayCalendars = append(s.HolidayCalendars, *o)
	case *v1alpha1.TenantDefaults:
		s.TenantDefaults = append(s.TenantDefaults, *o)
	case *v1alpha1.DutyPeriod:
		s.DutyPeriods = append(s.DutyPeriods, *o)
	default:
		return fmt.Errorf("unsupported kind %s", gvk.Kind)
	}
	return nil
}
