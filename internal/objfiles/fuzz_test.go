package objfiles

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/xinfang/petition-operator/internal/xinfang"
)

// FuzzReadDocuments feeds arbitrary bytes, as the text of one file, through
// what petitionctl validate does with a file before the schema: the
// document splitter with its budgets, then each document's type, its
// conversion to JSON and its strict decoding. Nothing may panic; what is
// wrong is an error naming the file; the output is bounded by the input.
// The seeds are in testdata/fuzz/FuzzReadDocuments; go test runs them.
//
//	go test ./internal/objfiles -run '^$' -fuzz '^FuzzReadDocuments$' -fuzztime 60s
func FuzzReadDocuments(f *testing.F) {
	f.Add([]byte(officeYAML("city", "City", "")))
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.yaml"
		docs, errs := split(name, data, newBudget())
		if len(docs) > MaxDocuments {
			t.Fatalf("%d documents, over the budget of %d", len(docs), MaxDocuments)
		}
		total := 0
		lines := bytes.Count(data, []byte("\n")) + 1
		for i, d := range docs {
			if d.File != name || d.Index < 1 || (i > 0 && d.Index <= docs[i-1].Index) {
				t.Fatalf("document %d is %s", i, d)
			}
			// Each document starts on a line of its own, after the
			// one before, and its fields are on its lines.
			if d.Line < 1 || d.Line > lines || (i > 0 && d.Line <= docs[i-1].Line) {
				t.Fatalf("%s starts at line %d of %d", d, d.Line, lines)
			}
			text := d.Raw
			if rest := text[bytes.IndexByte(text, '\n')+1:]; bytes.HasPrefix(text, []byte(separator)) && len(rest) > 0 {
				text = rest
			}
			if !bytes.Equal(d.Text, text) {
				t.Fatalf("%s: Text %q of Raw %q", d, d.Text, d.Raw)
			}
			last := d.Line + bytes.Count(d.Text, []byte("\n")) - 1
			for _, l := range d.FieldLines("spec.parent", "metadata.labels[a.b/c]", "spec.windows[0].hours[1]") {
				if l < d.Line || l > max(last, d.Line) {
					t.Fatalf("%s (lines %d to %d): a field at line %d", d, d.Line, last, l)
				}
			}
			if len(d.Raw) > MaxDocumentBytes {
				t.Fatalf("%s: %d bytes, over %d", d, len(d.Raw), MaxDocumentBytes)
			}
			if blank(d.Raw) {
				t.Fatalf("%s is blank and was returned: %q", d, d.Raw)
			}
			total += len(d.Raw)
			// What validate does with a document.
			_, ours, err := TypeOf(d.Raw)
			if j, err := yaml.YAMLToJSONStrict(d.Raw); err == nil {
				_ = (&unstructured.Unstructured{}).UnmarshalJSON(j)
			}
			if err == nil && ours {
				_ = Add(&xinfang.Snapshot{}, d.Raw)
			}
		}
		// Each line of the input is in one document at most; the reader
		// ends the last line with a newline.
		if total > len(data)+1 {
			t.Fatalf("%d bytes of documents from %d bytes of input", total, len(data))
		}
		for _, err := range errs {
			var be *BudgetError
			if err == nil || (!strings.HasPrefix(err.Error(), name+": ") && !errors.As(err, &be)) {
				t.Fatalf("error %v does not name the file", err)
			}
		}
		// What the splitter skips as blank is what the decoder finds
		// empty: skipping it hides no error and no object.
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for range MaxDocuments {
			raw, err := reader.Read()
			if err != nil {
				if !errors.Is(err, io.EOF) && len(errs) == 0 {
					t.Fatalf("the splitter found no error where the reader found %v", err)
				}
				break
			}
			if !blank(raw) {
				continue
			}
			if gvk, ours, err := TypeOf(raw); err != nil || ours || !gvk.Empty() {
				t.Fatalf("blank document %q is %v, ours %v, error %v", raw, gvk, ours, err)
			}
		}
	})
}
