package validate

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
)

// WriteGitHub writes problems as GitHub Actions workflow commands, one
// line each, which a pull request shows as annotations of its files:
//
//	::error file=<file>,line=<line>,title=<Kind>/<name>::<field path>: <message>
//
// The file and line are left out when unknown, the title for a document
// that is not an object (its message names it). Paths are as in the
// problems, with forward slashes. Values are escaped as the Actions
// toolkit escapes them, so that no message can end the command or start
// another.
func WriteGitHub(w io.Writer, problems []Problem) error {
	bw := bufio.NewWriter(w)
	for _, p := range problems {
		var props []string
		if p.File != "" {
			props = append(props, "file="+escapeProperty(filepath.ToSlash(p.File)))
			if p.Line > 0 {
				props = append(props, "line="+strconv.Itoa(p.Line))
			}
		}
		if p.Kind != "" {
			props = append(props, "title="+escapeProperty(p.Kind+"/"+p.Name))
		}
		cmd := "::error"
		if len(props) > 0 {
			cmd += " " + strings.Join(props, ",")
		}
		if _, err := fmt.Fprintf(bw, "%s::%s\n", cmd, escapeData(annotation(p))); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// annotation is the text of a problem under a title that names its object:
// the message, with the field path it is about.
func annotation(p Problem) string {
	if p.Kind == "" {
		return p.String()
	}
	if p.Field != "" && !strings.HasPrefix(p.Message, p.Field) {
		return p.Field + ": " + p.Message
	}
	return p.Message
}

// escapeData escapes the message of a workflow command
// (@actions/core's escapeData).
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a property value of a workflow command
// (@actions/core's escapeProperty).
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// The tool of the SARIF reports.
const (
	toolName = "petitionctl"
	toolURI  = "https://github.com/xinfang/petition-operator"
)

// rules are the rules of a SARIF report, in the order of their ids.
var rules = []struct{ id, name, description string }{
	{RuleDocument, "UnreadableDocument", "A file or document that cannot be read as an object of this API, or a kustomization that does not build."},
	{RuleSchema, "SchemaViolation", "An object that the API server refuses: an unknown kind or field, the OpenAPI schema, the CEL rules."},
	{RuleNetwork, "NetworkRuleViolation", "An object that the admission webhooks refuse by the rules across objects: parents, references, tenant limits."},
}

// WriteSARIF writes problems as a SARIF 2.1.0 log, as code scanning reads
// it: one run of the tool petitionctl (of version toolVersion, if given),
// its rules (Problem.Rule: RuleDocument, RuleSchema, RuleNetwork), and a
// result of level error for each problem, with its text (Problem.String),
// the file (a URI reference: a relative path stays relative, with forward
// slashes) and line where it is, when known, and the object it is about.
func WriteSARIF(w io.Writer, problems []Problem, toolVersion string) error {
	run := sarif.NewRunWithInformationURI(toolName, toolURI)
	if toolVersion != "" {
		run.Tool.Driver.WithVersion(toolVersion)
	}
	for _, r := range rules {
		run.AddRule(r.id).WithName(r.name).WithDescription(r.description).
			WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel("error"))
	}
	for _, p := range problems {
		rule := p.Rule
		if rule == "" {
			rule = RuleDocument
			if p.Kind != "" {
				rule = RuleSchema
			}
		}
		run.AddRule(rule)
		result := run.CreateResultForRule(rule).WithLevel("error").WithMessage(sarif.NewTextMessage(p.String()))
		if p.File == "" && p.Kind == "" {
			continue
		}
		loc := sarif.NewLocation()
		if p.File != "" {
			physical := sarif.NewPhysicalLocation().WithArtifactLocation(sarif.NewSimpleArtifactLocation(fileURI(p.File)))
			if p.Line > 0 {
				physical.WithRegion(sarif.NewRegion().WithStartLine(p.Line))
			}
			loc.WithPhysicalLocation(physical)
		}
		if p.Kind != "" {
			loc.AddLogicalLocation(sarif.NewLogicalLocation().WithName(p.Name).WithFullyQualifiedName(p.Kind + "/" + p.Name).WithKind("object"))
		}
		result.AddLocation(loc)
	}
	report := sarif.NewReport()
	report.AddRun(run)
	if err := report.PrettyWrite(w); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// fileURI is the URI reference of a path: relative, with forward slashes,
// for a relative path; a file URI for an absolute one.
func fileURI(path string) string {
	u := &url.URL{Path: filepath.ToSlash(path)}
	if filepath.IsAbs(path) {
		u.Scheme = "file"
	}
	return u.String()
}
