package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// outputAPIVersion is the apiVersion of every object petitionctl prints
// with -o json, yaml, jsonpath or go-template: each output names its kind
// (OfficeTree, Route, Windows, Deadlines, Plan, Validation, RolloutStatus,
// Version), so that a script can tell them apart and a later version can
// change a shape under a new apiVersion.
const outputAPIVersion = "cli.petition.xinfang.io/v1alpha1"

// The output formats petitionctl handles itself; the others (json, yaml,
// name, jsonpath=…, go-template=…, their -file forms) are kubectl's
// printers from k8s.io/cli-runtime.
const (
	outputTable = ""
	outputWide  = "wide"
	outputName  = "name"
)

// extraOutputsAnnotation lists, on a command, the output formats it adds to
// the common ones (validate: github and sarif).
const extraOutputsAnnotation = "petitionctl/outputs"

// newPrintFlags returns kubectl's print flags with no default format: an
// empty -o is petitionctl's table.
func newPrintFlags() *genericclioptions.PrintFlags {
	return genericclioptions.NewPrintFlags("").WithDefaultOutput(outputTable)
}

// addPrintFlags adds -o, --template and --allow-missing-template-keys to
// every command, as kubectl's print flags define them.
func addPrintFlags(root *cobra.Command, pf *genericclioptions.PrintFlags) {
	scratch := &cobra.Command{}
	pf.AddFlags(scratch)
	// --show-managed-fields applies to objects of the API server, which
	// petitionctl does not print.
	scratch.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "show-managed-fields" {
			return
		}
		if f.Name == "output" {
			f.Usage = "Output format: empty for a table, or one of " + strings.Join(outputFormats(pf, nil), ", ") +
				" (validate adds github and sarif)"
		}
		root.PersistentFlags().AddFlag(f)
	})
}

// outputFormats lists the formats of -o for a command that adds extra.
func outputFormats(pf *genericclioptions.PrintFlags, extra []string) []string {
	formats := append([]string{outputWide}, pf.AllowedFormats()...)
	return append(formats, extra...)
}

// extraOutputs are the formats cmd adds to the common ones.
func extraOutputs(cmd *cobra.Command) []string {
	if s := cmd.Annotations[extraOutputsAnnotation]; s != "" {
		return strings.Split(s, ",")
	}
	return nil
}

// checkOutput refuses an -o the command cannot print, before it reads
// anything, with the formats it can.
func (o *options) checkOutput(cmd *cobra.Command) error {
	out := o.output()
	extra := extraOutputs(cmd)
	if out == outputTable || out == outputWide || slices.Contains(extra, out) {
		return nil
	}
	if _, err := o.print.ToPrinter(); err != nil {
		if genericclioptions.IsNoCompatiblePrinterError(err) {
			return fmt.Errorf("-o %s: unknown output format; use one of %s", out, strings.Join(outputFormats(o.print, extra), ", "))
		}
		return fmt.Errorf("-o %s: %w", out, err)
	}
	return nil
}

// output is the -o the user gave.
func (o *options) output() string {
	if o.print.OutputFormat == nil {
		return outputTable
	}
	return *o.print.OutputFormat
}

// machine reports whether the output is for a program (every format but
// the tables): hints and summaries then stay off stdout.
func (o *options) machine() bool {
	out := o.output()
	return out != outputTable && out != outputWide
}

// objectRef names an object of this API for -o name.
type objectRef struct{ kind, name string }

// report is what a command prints.
type report struct {
	// kind and value are the object of -o json|yaml|jsonpath|go-template:
	// value's JSON with apiVersion and kind added, and empty strings and
	// nulls left out. Lists are always present, empty or not.
	kind  string
	value any
	// header and rows are the table; every cell printable (see row).
	// With -o wide, wideHeader and wideRows when set.
	header, wideHeader string
	rows, wideRows     []string
	// empty is printed instead of a table without rows, when set.
	empty string
	// footer lines follow the table.
	footer []string
	// objects are the objects the report is about, for -o name.
	objects []objectRef
}

// emit prints r in the -o format.
func (o *options) emit(r *report) error {
	switch out := o.output(); out {
	case outputTable, outputWide:
		header, rows := r.header, r.rows
		if out == outputWide && r.wideHeader != "" {
			header, rows = r.wideHeader, r.wideRows
		}
		if len(rows) == 0 && r.empty != "" {
			_, err := fmt.Fprintln(o.out, r.empty)
			return err
		}
		if header != "" {
			if o.noHeaders {
				header = ""
			}
			if err := writeTable(o.out, header, rows); err != nil {
				return err
			}
		}
		for _, f := range r.footer {
			if _, err := fmt.Fprintln(o.out, f); err != nil {
				return err
			}
		}
		return nil
	case outputName:
		return printNames(o.out, r.objects)
	default:
		p, err := o.print.ToPrinter()
		if err != nil {
			return err
		}
		obj, err := r.object()
		if err != nil {
			return err
		}
		return p.PrintObj(obj, o.out)
	}
}

// writeTable writes a header, unless it is empty, and rows aligned in
// columns.
func writeTable(w io.Writer, header string, rows []string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if header != "" {
		_, _ = fmt.Fprintln(tw, header)
	}
	for _, r := range rows {
		_, _ = fmt.Fprintln(tw, r)
	}
	return tw.Flush()
}

// object is the report as the object the printers print.
func (r *report) object() (*unstructured.Unstructured, error) {
	data, err := json.Marshal(r.value)
	if err != nil {
		return nil, err
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("%s: not an object: %w", r.kind, err)
	}
	fields = compact(fields).(map[string]any)
	fields["apiVersion"], fields["kind"] = outputAPIVersion, r.kind
	return &unstructured.Unstructured{Object: fields}, nil
}

// compact leaves out the empty strings and nulls of a decoded JSON value,
// at every depth, so that an absent date or name is absent rather than "".
// Lists, false and 0 stay: they are answers.
func compact(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil || e == "" {
				delete(v, k)
				continue
			}
			v[k] = compact(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = compact(e)
		}
		return v
	default:
		return v
	}
}

// printNames prints each object as kubectl's -o name does:
// office.petition.xinfang.io/NAME, once each, in order.
func printNames(w io.Writer, refs []objectRef) error {
	seen := map[objectRef]bool{}
	p := &printers.NamePrinter{}
	for _, ref := range refs {
		if seen[ref] || ref.name == "" {
			continue
		}
		seen[ref] = true
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind(ref.kind))
		obj.SetName(ref.name)
		if err := p.PrintObj(obj, w); err != nil {
			return err
		}
	}
	return nil
}

// printObject prints an object of this API (a rollout action's target) in
// the -o format: its reference with -o name, the object with the printers.
func (o *options) printObject(obj runtime.Object, kind, name string) error {
	if o.output() == outputName {
		return printNames(o.out, []objectRef{{kind, name}})
	}
	p, err := o.print.ToPrinter()
	if err != nil {
		return err
	}
	obj.GetObjectKind().SetGroupVersionKind(v1alpha1.GroupVersion.WithKind(kind))
	return p.PrintObj(obj, o.out)
}
