// Package chartdoc reads the Helm chart's values.yaml with its comments
// against its values.schema.json, holds the two to each other (every key of
// one is described in the other, and every object that is not a free-form
// map refuses unknown keys), and writes the chart's README from them.
package chartdoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Schema is the part of a JSON Schema (draft-07) that values.schema.json
// uses.
type Schema struct {
	Type                 Types              `json:"type"`
	Description          string             `json:"description"`
	Properties           map[string]*Schema `json:"properties"`
	AdditionalProperties *Additional        `json:"additionalProperties"`
	Items                *Schema            `json:"items"`
	Required             []string           `json:"required"`
	Enum                 []any              `json:"enum"`
	Pattern              string             `json:"pattern"`
	Minimum              *float64           `json:"minimum"`
	Maximum              *float64           `json:"maximum"`
	ExclusiveMinimum     *float64           `json:"exclusiveMinimum"`
	MinLength            *int               `json:"minLength"`
	MaxLength            *int               `json:"maxLength"`
}

// Types is a schema's type: one name or a list of names.
type Types []string

// UnmarshalJSON reads "string" as well as ["string", "integer"].
func (t *Types) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*t = Types{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("type: want a name or a list of names: %w", err)
	}
	*t = many
	return nil
}

// Is reports whether the schema's type is name (alone or among others).
func (t Types) Is(name string) bool { return slices.Contains(t, name) }

// Additional is additionalProperties: false, true, or the schema of every
// other key.
type Additional struct {
	Allowed bool
	Schema  *Schema
}

// UnmarshalJSON reads a boolean or a schema.
func (a *Additional) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &a.Allowed); err == nil {
		return nil
	}
	a.Allowed = true
	a.Schema = &Schema{}
	return json.Unmarshal(b, a.Schema)
}

// Structured reports whether s is an object of known keys: it has
// properties, and must then refuse any other key.
func (s *Schema) Structured() bool { return s.Type.Is("object") && s.Properties != nil }

// ParseSchema reads values.schema.json.
func ParseSchema(data []byte) (*Schema, error) {
	var s Schema
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("values.schema.json: %w", err)
	}
	return &s, nil
}

// Value is a key of values.yaml with what the schema says of it.
type Value struct {
	// Path is the key's dotted path, such as webhook.certs.
	Path string
	// Default is its value in values.yaml.
	Default any
	// Comment is the comment above it in values.yaml, without the #s.
	Comment string
	// Schema describes it.
	Schema *Schema
	// Leaf is true for a key the values table lists: not an object of
	// known keys, whose keys it lists instead.
	Leaf bool
}

// Unchecked are the keys the schema may have without values.yaml: Helm's
// globals, which a parent chart passes down.
var Unchecked = []string{"global"}

// Walk reads values.yaml against the schema and returns every key in the
// order of values.yaml. It fails when the two disagree: a key of values.yaml
// that the schema does not describe (or describes without a description), a
// key of the schema that values.yaml does not have, an object of known keys
// that does not refuse others (additionalProperties: false), or an object
// whose other keys the schema leaves unsaid.
func Walk(valuesYAML []byte, schema *Schema) ([]Value, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(valuesYAML, &doc); err != nil {
		return nil, fmt.Errorf("values.yaml: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("values.yaml: want a mapping")
	}
	var values []Value
	var problems []string
	checkObjects("", schema, &problems)
	walk(doc.Content[0], "", schema, &values, &problems)
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, fmt.Errorf("values.yaml and values.schema.json disagree:\n- %s", strings.Join(problems, "\n- "))
	}
	return values, nil
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// checkObjects holds every object of the schema to refusing unknown keys
// or saying what they may be.
func checkObjects(path string, s *Schema, problems *[]string) {
	if s == nil {
		return
	}
	name := path
	if name == "" {
		name = "(the values)"
	}
	if s.Type.Is("object") {
		switch {
		case s.Structured() && (s.AdditionalProperties == nil || s.AdditionalProperties.Allowed):
			*problems = append(*problems, name+": an object of known keys must have additionalProperties: false, or a misspelt key passes")
		case !s.Structured() && s.AdditionalProperties == nil:
			*problems = append(*problems, name+": a free-form object must say additionalProperties: true or the schema of its values")
		}
	}
	if s.Type.Is("array") && s.Items == nil {
		*problems = append(*problems, name+": an array must have items")
	}
	for k, p := range s.Properties {
		checkObjects(join(path, k), p, problems)
	}
	checkObjects(path+"[]", s.Items, problems)
}

func walk(m *yaml.Node, prefix string, s *Schema, values *[]Value, problems *[]string) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		path := join(prefix, k.Value)
		seen[k.Value] = true
		p := s.Properties[k.Value]
		if p == nil {
			*problems = append(*problems, path+": in values.yaml, not in the schema")
			continue
		}
		if strings.TrimSpace(p.Description) == "" {
			*problems = append(*problems, path+": the schema has no description of it")
		}
		var def any
		if err := v.Decode(&def); err != nil {
			*problems = append(*problems, fmt.Sprintf("%s: %v", path, err))
			continue
		}
		val := Value{Path: path, Default: def, Comment: comment(k.HeadComment), Schema: p, Leaf: !p.Structured()}
		*values = append(*values, val)
		if p.Structured() {
			if v.Kind != yaml.MappingNode {
				*problems = append(*problems, path+": the schema has an object of known keys, values.yaml something else")
				continue
			}
			walk(v, path, p, values, problems)
		}
	}
	keys := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !seen[k] && (prefix != "" || !slices.Contains(Unchecked, k)) {
			*problems = append(*problems, join(prefix, k)+": in the schema, not in values.yaml")
		}
	}
}

// comment returns a YAML comment's text without the #s, keeping the
// indentation after them.
func comment(c string) string {
	if c == "" {
		return ""
	}
	var lines []string
	for l := range strings.Lines(c) {
		l = strings.TrimRight(l, "\n")
		l = strings.TrimPrefix(strings.TrimLeft(l, " \t"), "#")
		l = strings.TrimPrefix(l, " ")
		lines = append(lines, l)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
