package tenant

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// The bounds of a tenant patch, checked on its text before kustomize reads
// it. An Office author is trusted with their office, never with the
// operator: a patch must not be able to make a render cost more than a
// small, fixed amount of time and memory.
const (
	// MaxPatchDocuments bounds the YAML documents of one patch.
	MaxPatchDocuments = 8
	// MaxPatchNodes bounds the YAML nodes (scalars, maps and lists) of one
	// patch.
	MaxPatchNodes = 8192
	// MaxPatchDepth bounds how deeply one patch nests.
	MaxPatchDepth = 32
	// MaxPatchOperations bounds the operations of one JSON 6902 patch.
	MaxPatchOperations = 64
	// MaxPatchCopies bounds its copy operations, each of which may double
	// what it copies.
	MaxPatchCopies = 8
	// MaxCopyBytes bounds the bytes the copy operations of one JSON 6902
	// patch may add to one object (json-patch's AccumulatedCopySizeLimit).
	MaxCopyBytes = 64 << 10
	// MaxRenderedBytes bounds the tenant stack as rendered (JSON), the
	// compiled configuration included.
	MaxRenderedBytes = 3 << 20
)

// The bounds of all of an office's patches together, checked before any
// render. Merging keyed lists costs more than linearly in their length, and
// each patch merges into what the ones before it added: sixteen patches of
// 900 env entries each, every one within the bounds above, cost more than
// twenty CPU-minutes. These keep the worst office that passes them to a
// fraction of RenderTimeout (docs/performance.md).
const (
	// MaxPatchesBytes bounds the text of all patches together.
	MaxPatchesBytes = 64 << 10
	// MaxPatchesNodes bounds the YAML nodes of all patches together.
	MaxPatchesNodes = 2048
	// MaxPatchesListItems bounds the list entries of all patches together
	// (env entries, args, JSON 6902 operations, …).
	MaxPatchesListItems = 128
)

// RenderTimeout bounds one render with its judgement (Render, CheckTenant),
// well below the 10 s after which the API server gives up on the admission
// webhook: a render past it fails, at admission and in the operator alike,
// instead of going on after the API server stopped waiting.
const RenderTimeout = 5 * time.Second

// ErrOverBudget is the error of a render that ran past RenderTimeout.
var ErrOverBudget = fmt.Errorf("rendering and judging the tenant stack took more than %s (the budget of one render): use fewer or smaller patches", RenderTimeout)

// patchSize is what one patch adds to the totals bounded above.
type patchSize struct{ bytes, nodes, listItems int }

// checkPatchSet holds the patches together to the bounds of a set, naming
// the first patch with which a total runs over.
func checkPatchSet(sizes []patchSize) error {
	var total patchSize
	for i, s := range sizes {
		total.bytes += s.bytes
		total.nodes += s.nodes
		total.listItems += s.listItems
		var err error
		switch {
		case total.listItems > MaxPatchesListItems:
			err = fmt.Errorf("the patches up to this one hold %d list entries (env, args, operations …); all patches together may hold at most %d", total.listItems, MaxPatchesListItems)
		case total.nodes > MaxPatchesNodes:
			err = fmt.Errorf("the patches up to this one hold %d YAML nodes; all patches together may hold at most %d", total.nodes, MaxPatchesNodes)
		case total.bytes > MaxPatchesBytes:
			err = fmt.Errorf("the patches up to this one hold %d bytes; all patches together may hold at most %d", total.bytes, MaxPatchesBytes)
		}
		if err != nil {
			return &PatchError{Index: i, Err: err}
		}
	}
	return nil
}

// The kustomize in this binary applies JSON 6902 patches with the
// json-patch v4 package, whose copy bound is a package setting: set it, so
// that whatever reaches kustomize — an office stored before these checks
// existed — cannot grow an object without bound.
func init() {
	jsonpatch.AccumulatedCopySizeLimit = MaxCopyBytes
}

// jsonPatchOps are the operations of RFC 6902.
var jsonPatchOps = map[string]bool{"add": true, "remove": true, "replace": true, "move": true, "copy": true, "test": true}

// checkPatchText judges one patch's text on its own, before any render: it
// parses as YAML (JSON is YAML) without anchors or aliases, within the
// bounds above; a JSON 6902 patch has a target and operations of RFC 6902,
// a strategic merge patch names the object it patches.
func checkPatchText(p v1alpha1.TenantPatch) (patchSize, error) {
	if strings.TrimSpace(p.Patch) == "" {
		return patchSize{}, errors.New("the patch is empty")
	}
	dec := yaml.NewDecoder(strings.NewReader(p.Patch))
	budget := &nodeBudget{left: MaxPatchNodes}
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return patchSize{}, fmt.Errorf("the patch is not YAML or JSON: %w", err)
		}
		if len(docs) == MaxPatchDocuments {
			return patchSize{}, fmt.Errorf("the patch has more than %d documents", MaxPatchDocuments)
		}
		if err := budget.walk(&doc, 0); err != nil {
			return patchSize{}, err
		}
		if len(doc.Content) > 0 {
			docs = append(docs, doc.Content[0])
		}
	}
	if len(docs) == 0 {
		return patchSize{}, errors.New("the patch is empty")
	}
	size := patchSize{bytes: len(p.Patch), nodes: MaxPatchNodes - budget.left, listItems: budget.listItems}
	if docs[0].Kind == yaml.SequenceNode {
		return size, checkJSONPatch(p, docs)
	}
	for i, d := range docs {
		if d.Kind != yaml.MappingNode {
			return patchSize{}, fmt.Errorf("document %d of the patch is neither a strategic merge patch (an object) nor a JSON 6902 patch (a list of operations)", i+1)
		}
		if p.Target == nil {
			for _, k := range []string{"apiVersion", "kind"} {
				if lookup(d, k) == nil {
					return patchSize{}, fmt.Errorf("document %d of the strategic merge patch has no %s: without a target, a patch names the object it patches (apiVersion, kind, metadata.name)", i+1, k)
				}
			}
		}
	}
	if p.Target != nil && len(docs) > 1 {
		return patchSize{}, errors.New("a strategic merge patch with a target holds one document")
	}
	return size, nil
}

func checkJSONPatch(p v1alpha1.TenantPatch, docs []*yaml.Node) error {
	if len(docs) > 1 {
		return errors.New("a JSON 6902 patch is one list of operations")
	}
	if p.Target == nil {
		return errors.New("a JSON 6902 patch needs a target (kind and name of the objects it patches)")
	}
	ops := docs[0].Content
	if len(ops) > MaxPatchOperations {
		return fmt.Errorf("the JSON 6902 patch has %d operations; at most %d are allowed", len(ops), MaxPatchOperations)
	}
	copies := 0
	for i, op := range ops {
		if op.Kind != yaml.MappingNode {
			return fmt.Errorf("operation %d of the JSON 6902 patch is not an object", i)
		}
		name := lookup(op, "op")
		if name == nil || name.Kind != yaml.ScalarNode || !jsonPatchOps[name.Value] {
			return fmt.Errorf("operation %d of the JSON 6902 patch: op must be one of add, remove, replace, move, copy, test", i)
		}
		if path := lookup(op, "path"); path == nil || path.Kind != yaml.ScalarNode {
			return fmt.Errorf("operation %d of the JSON 6902 patch has no path", i)
		}
		if name.Value == "copy" {
			if copies++; copies > MaxPatchCopies {
				return fmt.Errorf("the JSON 6902 patch has more than %d copy operations", MaxPatchCopies)
			}
		}
	}
	return nil
}

// nodeBudget walks YAML nodes, refusing anchors, aliases and merge keys,
// and counting nodes and depth against the bounds.
type nodeBudget struct{ left, listItems int }

func (b *nodeBudget) walk(n *yaml.Node, depth int) error {
	if depth > MaxPatchDepth {
		return fmt.Errorf("the patch nests deeper than %d levels", MaxPatchDepth)
	}
	if b.left--; b.left < 0 {
		return fmt.Errorf("the patch has more than %d YAML nodes", MaxPatchNodes)
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return fmt.Errorf("line %d: YAML anchors and aliases are not allowed in a patch", n.Line)
	}
	if n.Kind == yaml.SequenceNode {
		b.listItems += len(n.Content)
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!merge" {
		return fmt.Errorf("line %d: YAML merge keys are not allowed in a patch", n.Line)
	}
	for _, c := range n.Content {
		if err := b.walk(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// lookup returns the value of key k of a mapping node, or nil.
func lookup(m *yaml.Node, k string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == k {
			return m.Content[i+1]
		}
	}
	return nil
}

// PatchError is a tenant patch that is refused: Index is its position in
// spec.tenant.patches.
type PatchError struct {
	Index int
	Err   error
}

func (e *PatchError) Error() string {
	return fmt.Sprintf("%s: %v", e.Field(), e.Err)
}

func (e *PatchError) Unwrap() error { return e.Err }

// Field is the path of the patch in the office.
func (e *PatchError) Field() *field.Path {
	return field.NewPath("spec", "tenant", "patches").Index(e.Index)
}

// judgeInput is the input of a render at admission or offline, where the
// compiled configuration and the operator's flags are not known: patches
// may not touch them, so placeholders judge them the same. Nor is it known
// whether the office's City declares spec.cases: the judge renders the
// desk with a registry, whose rule for the desk's args is the stricter
// (keepRegistryArgs), so that an office admitted still renders when its
// City declares one.
func judgeInput(o *v1alpha1.Office, limits Limits) Input {
	return Input{Office: o, Config: []byte("{}"), ConfigHash: "judge", DefaultImage: "desk", IngressNamespace: "ingress", Limits: &limits,
		City: "judge", Registry: &RegistryRef{URL: "http://registry.judge.svc:8080", Namespace: "judge"}}
}

// CheckTenant judges an office's spec.tenant as the operator will render
// it: its resources and quota against limits, then each patch's text, then
// the stack rendered with its patches against the allow-list. The
// admission webhook and petitionctl validate call it; Render applies the
// same rules again.
//
// It takes at most RenderTimeout: past it, the office is refused on
// spec.tenant.patches.
func CheckTenant(ctx context.Context, o *v1alpha1.Office, limits Limits) field.ErrorList {
	// Checked here too, before Render does, for errors with field paths.
	errs := limits.CheckResources(o)
	if len(errs) > 0 || len(o.Spec.Tenant.Patches) == 0 {
		// Without patches the stack is the operator's own: nothing to judge.
		return errs
	}
	if _, err := RenderContext(ctx, judgeInput(o, limits)); err != nil {
		var pe *PatchError
		if errors.As(err, &pe) {
			return field.ErrorList{field.Forbidden(pe.Field(), pe.Err.Error())}
		}
		if errors.Is(err, ErrOverBudget) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return field.ErrorList{field.Forbidden(field.NewPath("spec", "tenant", "patches"), err.Error())}
		}
		return field.ErrorList{field.Invalid(field.NewPath("spec", "tenant"), field.OmitValueType{}, err.Error())}
	}
	return nil
}
