package chartdoc

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

//go:embed readme.md.tmpl
var readmeTemplate string

// Chart is what the README says of Chart.yaml.
type Chart struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	AppVersion  string `json:"appVersion"`
	Description string `json:"description"`
	KubeVersion string `json:"kubeVersion"`
	Home        string `json:"home"`
}

// CRD is a custom resource definition of the chart's crds/.
type CRD struct {
	Kind, Plural, Group, Version string
	// Summary is the first sentence of the kind's description.
	Summary string
}

// Row is a line of the values table.
type Row struct {
	Key, Type, Default, Description string
}

// Alert is an alert of the chart's files/prometheus-rules.yaml.
type Alert struct {
	Name, Severity, For, Summary, Runbook string
}

// Note is the comment values.yaml has above a key, as Markdown.
type Note struct {
	Key, Text string
}

// README returns the README of the chart in dir: generated from its
// Chart.yaml, its crds/, its values.yaml with its comments and its
// values.schema.json, which must agree (Walk).
func README(dir string) ([]byte, error) {
	var chart Chart
	if err := readYAML(filepath.Join(dir, "Chart.yaml"), &chart); err != nil {
		return nil, err
	}
	crds, err := ReadCRDs(filepath.Join(dir, "crds"))
	if err != nil {
		return nil, err
	}
	schemaJSON, err := os.ReadFile(filepath.Join(dir, "values.schema.json"))
	if err != nil {
		return nil, err
	}
	schema, err := ParseSchema(schemaJSON)
	if err != nil {
		return nil, err
	}
	valuesYAML, err := os.ReadFile(filepath.Join(dir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	values, err := Walk(valuesYAML, schema)
	if err != nil {
		return nil, err
	}
	var rows []Row
	var notes []Note
	for _, v := range values {
		if v.Leaf {
			rows = append(rows, Row{
				Key:         "`" + v.Path + "`",
				Type:        typeName(v.Schema),
				Default:     "`" + cell(defaultText(v.Default)) + "`",
				Description: cell(markdownText(describe(v.Schema))),
			})
		}
		if v.Comment != "" {
			notes = append(notes, Note{Key: v.Path, Text: markdown(v.Comment)})
		}
	}
	alerts, err := ReadAlerts(filepath.Join(dir, "files", "prometheus-rules.yaml"))
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("README.md").Parse(readmeTemplate)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = tmpl.Execute(&out, map[string]any{"Chart": chart, "CRDs": crds, "Rows": rows, "Notes": notes, "Alerts": alerts})
	return out.Bytes(), err
}

func readYAML(path string, into any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ReadAlerts returns the alerts of a Prometheus rule file, in its order.
func ReadAlerts(path string) ([]Alert, error) {
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `json:"alert"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := readYAML(path, &file); err != nil {
		return nil, err
	}
	var alerts []Alert
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			forText := r.For
			if forText == "" {
				forText = "at once"
			}
			alerts = append(alerts, Alert{Name: r.Alert, Severity: r.Labels["severity"], For: forText,
				Summary: cell("`" + r.Annotations["summary"] + "`"), Runbook: r.Annotations["runbook_url"]})
		}
	}
	if len(alerts) == 0 {
		return nil, fmt.Errorf("%s: no alert", path)
	}
	return alerts, nil
}

// ReadCRDs returns the CRDs of the YAML files of dir, by kind.
func ReadCRDs(dir string) ([]CRD, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var crds []CRD
	for _, f := range files {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := readYAML(f, &crd); err != nil {
			return nil, err
		}
		c := CRD{Kind: crd.Spec.Names.Kind, Plural: crd.Spec.Names.Plural, Group: crd.Spec.Group}
		for _, v := range crd.Spec.Versions {
			if v.Storage {
				c.Version = v.Name
				if v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
					c.Summary = FirstSentence(v.Schema.OpenAPIV3Schema.Description)
				}
			}
		}
		crds = append(crds, c)
	}
	slices.SortFunc(crds, func(a, b CRD) int { return strings.Compare(a.Kind, b.Kind) })
	return crds, nil
}

// FirstSentence returns text up to the end of its first sentence, on one
// line.
func FirstSentence(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if i := strings.Index(text, ". "); i >= 0 {
		return text[:i+1]
	}
	return text
}

// typeName names the type of a key as the table shows it.
func typeName(s *Schema) string {
	var names []string
	for _, t := range s.Type {
		switch {
		case t == "array" && s.Items != nil:
			names = append(names, "list of "+typeName(s.Items))
		case t == "object" && s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil && len(s.AdditionalProperties.Schema.Type) > 0:
			names = append(names, "map of "+typeName(s.AdditionalProperties.Schema))
		default:
			names = append(names, t)
		}
	}
	return strings.Join(names, " or ")
}

// describe is the schema's description with its bounds and choices.
func describe(s *Schema) string {
	d := strings.TrimSpace(s.Description)
	if !strings.HasSuffix(d, ".") {
		d += "."
	}
	if len(s.Enum) > 0 {
		var choices []string
		for _, e := range s.Enum {
			choices = append(choices, fmt.Sprintf("`%v`", e))
		}
		d += " One of " + strings.Join(choices, ", ") + "."
	}
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	switch {
	case s.Minimum != nil && s.Maximum != nil:
		d += fmt.Sprintf(" From %s to %s.", num(*s.Minimum), num(*s.Maximum))
	case s.Minimum != nil && s.Type.Is("integer") && !s.Type.Is("string"):
		d += fmt.Sprintf(" At least %s.", num(*s.Minimum))
	case s.ExclusiveMinimum != nil:
		d += fmt.Sprintf(" More than %s.", num(*s.ExclusiveMinimum))
	}
	return d
}

// defaultText is a default as compact JSON, with keys in order.
func defaultText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// cell makes text fit in a table cell.
func cell(text string) string {
	return strings.ReplaceAll(strings.ReplaceAll(text, "|", `\|`), "\n", " ")
}

// markdownText escapes what Markdown would take for HTML, such as
// <fullname>, outside code spans.
func markdownText(text string) string {
	parts := strings.Split(text, "`")
	for i := 0; i < len(parts); i += 2 {
		parts[i] = strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(parts[i])
	}
	return strings.Join(parts, "`")
}

// markdown turns a values.yaml comment into Markdown: its indented lines
// into code blocks, the others into paragraphs.
func markdown(c string) string {
	var out []string
	var code []string
	flush := func() {
		if len(code) > 0 {
			out = append(out, "```text\n"+strings.Join(code, "\n")+"\n```")
			code = nil
		}
	}
	var para []string
	flushPara := func() {
		if len(para) > 0 {
			out = append(out, markdownText(strings.Join(para, "\n")))
			para = nil
		}
	}
	for l := range strings.Lines(c) {
		l = strings.TrimRight(l, "\n")
		switch {
		case strings.HasPrefix(l, "  "):
			flushPara()
			code = append(code, l[2:])
		case strings.TrimSpace(l) == "":
			flushPara()
			flush()
		default:
			flush()
			para = append(para, l)
		}
	}
	flushPara()
	flush()
	return strings.Join(out, "\n\n")
}
