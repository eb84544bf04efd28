package objfiles

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFieldPathSegments bounds the segments of a field path that FieldLine
// follows; a longer path is not looked up (the objects of this API nest far
// less deep).
const MaxFieldPathSegments = 256

// FieldLine returns the line of d's File that holds the field at path, a
// field path as k8s.io/apimachinery's field.Error names it:
// "spec.parent", "spec.routing.rules[2].routeTo.office",
// "metadata.labels[app.kubernetes.io/name]". When the field is missing it
// returns the line of its nearest parent that is there, and d.Line when
// nothing of the path is there, the path is empty or too long, or Text is
// empty or does not parse. It is 0 when d.Line is (the document's place in
// File is unknown).
func (d Document) FieldLine(path string) int {
	return d.FieldLines(path)[0]
}

// FieldLines is FieldLine of each path, parsing Text once.
func (d Document) FieldLines(paths ...string) []int {
	out := make([]int, len(paths))
	for i := range out {
		out[i] = d.Line
	}
	if d.Line == 0 || len(d.Text) == 0 {
		return out
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(d.Text, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return out
	}
	lineOf := textLines(d.Text)
	for i, p := range paths {
		segs, ok := parseFieldPath(p)
		if !ok {
			continue
		}
		if n := lookup(doc.Content[0], segs); n > 0 {
			if lineOf != nil && n <= len(lineOf) {
				n = lineOf[n-1]
			}
			out[i] = d.Line + n - 1
		}
	}
	return out
}

// textLines maps the lines YAML counts in text to the lines of the file,
// which end in "\n" only: YAML also breaks lines at a lone "\r" and at
// U+0085, U+2028 and U+2029. It is nil when they are the same lines.
func textLines(text []byte) []int {
	// otherBreak is the size of a line break other than "\n" at i, or 0.
	otherBreak := func(i int) int {
		switch {
		case text[i] == '\r' && (i+1 == len(text) || text[i+1] != '\n'):
			return 1
		case text[i] == 0xc2 && i+1 < len(text) && text[i+1] == 0x85:
			return 2
		case text[i] == 0xe2 && i+2 < len(text) && text[i+1] == 0x80 && (text[i+2] == 0xa8 || text[i+2] == 0xa9):
			return 3
		}
		return 0
	}
	other := false
	for i := range text {
		if otherBreak(i) > 0 {
			other = true
			break
		}
	}
	if !other {
		return nil
	}
	lineOf := []int{1}
	line := 1
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			line++
		} else if n := otherBreak(i); n > 0 {
			i += n - 1
		} else {
			continue
		}
		lineOf = append(lineOf, line)
	}
	return lineOf
}

// segment is one step of a field path: a field name, or what brackets
// hold: an index of a list or a key of a map.
type segment struct {
	name    string
	bracket bool
}

// parseFieldPath splits a field path into its segments. A key in brackets
// may hold dots and brackets of its own: it ends at the first "]" that ends
// the path or comes before "." or "[".
func parseFieldPath(p string) ([]segment, bool) {
	var segs []segment
	for p != "" {
		if len(segs) == MaxFieldPathSegments {
			return nil, false
		}
		switch {
		case p[0] == '[':
			end := -1
			for i := 1; i < len(p); i++ {
				if p[i] == ']' && (i+1 == len(p) || p[i+1] == '.' || p[i+1] == '[') {
					end = i
					break
				}
			}
			if end < 0 {
				return nil, false
			}
			segs = append(segs, segment{name: p[1:end], bracket: true})
			p = p[end+1:]
		case p[0] == '.' && len(segs) > 0:
			p = p[1:]
			if p == "" || p[0] == '.' || p[0] == '[' {
				return nil, false
			}
		default:
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			if end == 0 {
				return nil, false
			}
			segs = append(segs, segment{name: p[:end]})
			p = p[end:]
		}
	}
	return segs, true
}

// lookup returns the line, in the node's text, of the deepest node of segs
// under root: the line of a field's key, of a list's item. It is 0 when not
// even the first segment is there.
func lookup(root *yaml.Node, segs []segment) int {
	line := 0
	n := root
	for _, s := range segs {
		n = deref(n)
		var next *yaml.Node
		at := 0
		switch {
		case n == nil:
		case n.Kind == yaml.SequenceNode && s.bracket:
			i, err := strconv.Atoi(s.name)
			if err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				at = next.Line
			}
		case n.Kind == yaml.MappingNode:
			visits := maxMergeVisits
			if key, value := field(n, s.name, &visits); key != nil {
				next, at = value, key.Line
			}
		}
		if next == nil {
			return line
		}
		n, line = next, at
	}
	return line
}

// maxAliases bounds the aliases followed for one step of a path.
const maxAliases = 8

// deref follows n's aliases.
func deref(n *yaml.Node) *yaml.Node {
	for range maxAliases {
		if n == nil || n.Kind != yaml.AliasNode {
			return n
		}
		n = n.Alias
	}
	return nil
}

// maxMergeVisits bounds the mappings field looks into for one step of a
// path, merge keys followed.
const maxMergeVisits = 64

// field returns the key and the value of name in the mapping m, looking
// into the mappings its merge keys ("<<") name, visiting *visits mappings
// at most.
func field(m *yaml.Node, name string, visits *int) (key, value *yaml.Node) {
	if *visits <= 0 {
		return nil, nil
	}
	*visits--
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		if k.Value == name && k.Tag != "!!merge" {
			return k, m.Content[i+1]
		}
		if k.Tag == "!!merge" {
			merges = append(merges, m.Content[i+1])
		}
	}
	for _, v := range merges {
		v = deref(v)
		if v == nil {
			continue
		}
		candidates := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			candidates = v.Content
		}
		for _, c := range candidates {
			if c = deref(c); c != nil && c.Kind == yaml.MappingNode {
				if k, val := field(c, name, visits); k != nil {
					return k, val
				}
			}
		}
	}
	return nil, nil
}
