package schema

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const group = "petition.xinfang.io"

var allKinds = []string{"DutyPeriod", "EscalationPolicy", "HolidayCalendar", "Office", "RoutingPolicy", "TenantDefaults"}

func gvk(version, kind string) k8sschema.GroupVersionKind {
	return k8sschema.GroupVersionKind{Group: group, Version: version, Kind: kind}
}

// newValidator returns the Validator of the embedded CRDs.
func newValidator(t *testing.T) *Validator {
	t.Helper()
	v, err := New()
	if err != nil {
		t.Fatalf("New() = %v, want no error", err)
	}
	return v
}

// object decodes one YAML document into an unstructured object as the API
// server does, with integers as int64.
func object(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	data, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatalf("decoding %q: %v", doc, err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		t.Fatalf("decoding %q: %v", doc, err)
	}
	return obj
}

// sampleObjects returns every document of the YAML files of config/samples
// that declares a kind.
func sampleObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob("../../config/samples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			raw, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			obj := object(t, string(raw))
			if obj.GetKind() == "" || obj.GetKind() == "Kustomization" {
				continue
			}
			out = append(out, obj)
		}
	}
	return out
}

// fieldsOf lists "<field>: <type>" for each error.
func fieldsOf(errs field.ErrorList) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Field + ": " + e.Type.String()
	}
	return out
}

func TestNewKnowsEveryKind(t *testing.T) {
	v := newValidator(t)
	if len(v.kinds) != len(allKinds) {
		t.Errorf("New() prepared %d kinds, want %d", len(v.kinds), len(allKinds))
	}
	for _, kind := range allKinds {
		if !v.Knows(gvk("v1alpha1", kind)) {
			t.Errorf("Knows(%s v1alpha1) = false, want true", kind)
		}
		if e := v.CheckType(gvk("v1alpha1", kind)); e != nil {
			t.Errorf("CheckType(%s v1alpha1) = %v, want nil", kind, e)
		}
	}
	for _, unknown := range []k8sschema.GroupVersionKind{
		gvk("v1", "Office"),
		gvk("v1alpha1", "Widget"),
		{Group: "other.example.com", Version: "v1alpha1", Kind: "Office"},
		{},
	} {
		if v.Knows(unknown) {
			t.Errorf("Knows(%v) = true, want false", unknown)
		}
	}
}

func TestCheckType(t *testing.T) {
	v := newValidator(t)
	tests := []struct {
		name      string
		gvk       k8sschema.GroupVersionKind
		wantField string
		wantValue string
		wantList  []string
	}{
		{
			name:      "unknown version of a known kind",
			gvk:       gvk("v1", "Office"),
			wantField: "apiVersion",
			wantValue: "petition.xinfang.io/v1",
			wantList:  []string{"petition.xinfang.io/v1alpha1"},
		},
		{
			name:      "known kind of another group",
			gvk:       k8sschema.GroupVersionKind{Group: "other.example.com", Version: "v1alpha1", Kind: "RoutingPolicy"},
			wantField: "apiVersion",
			wantValue: "other.example.com/v1alpha1",
			wantList:  []string{"petition.xinfang.io/v1alpha1"},
		},
		{
			name:      "unknown kind",
			gvk:       gvk("v1alpha1", "Widget"),
			wantField: "kind",
			wantValue: "Widget",
			wantList:  allKinds,
		},
		{
			name:      "list kind",
			gvk:       gvk("v1alpha1", "OfficeList"),
			wantField: "kind",
			wantValue: "OfficeList",
			wantList:  allKinds,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := v.CheckType(tt.gvk)
			if e == nil {
				t.Fatalf("CheckType(%v) = nil, want an error", tt.gvk)
			}
			if e.Type != field.ErrorTypeNotSupported || e.Field != tt.wantField {
				t.Errorf("CheckType(%v) = %s at %q, want %s at %q", tt.gvk, e.Type, e.Field, field.ErrorTypeNotSupported, tt.wantField)
			}
			if e.BadValue != tt.wantValue {
				t.Errorf("bad value = %v, want %q", e.BadValue, tt.wantValue)
			}
			quoted := make([]string, len(tt.wantList))
			for i, s := range tt.wantList {
				quoted[i] = `"` + s + `"`
			}
			want := "supported values: " + strings.Join(quoted, ", ")
			if !strings.Contains(e.Error(), want) {
				t.Errorf("CheckType(%v) = %q, want it to contain %q", tt.gvk, e.Error(), want)
			}
		})
	}
}

func TestValidateUnknownType(t *testing.T) {
	v := newValidator(t)
	obj := object(t, `
apiVersion: petition.xinfang.io/v2
kind: Office
metadata: {name: x}
spec: {level: City}
`)
	errs := v.Validate(context.Background(), obj)
	if len(errs) != 1 || errs[0].Field != "apiVersion" || errs[0].Type != field.ErrorTypeNotSupported {
		t.Fatalf("Validate(v2 Office) = %v, want one Unsupported value at apiVersion", errs)
	}
}

func TestValidateSamples(t *testing.T) {
	v := newValidator(t)
	objs := sampleObjects(t)
	kinds := map[string]int{}
	for _, obj := range objs {
		kinds[obj.GetKind()]++
		t.Run(obj.GetKind()+"/"+obj.GetName(), func(t *testing.T) {
			if errs := v.Validate(context.Background(), obj); len(errs) > 0 {
				t.Errorf("Validate = %v, want no errors", errs)
			}
		})
	}
	for _, kind := range allKinds {
		if kinds[kind] == 0 {
			t.Errorf("config/samples holds no %s; the test covers every kind", kind)
		}
	}
}

func TestValidateFillsInDefaults(t *testing.T) {
	v := newValidator(t)
	var city *unstructured.Unstructured
	for _, obj := range sampleObjects(t) {
		if obj.GetKind() == "Office" && obj.GetName() == "nanyang-city" {
			city = obj
		}
	}
	if city == nil {
		t.Fatal("config/samples holds no Office nanyang-city")
	}
	if _, found, _ := unstructured.NestedString(city.Object, "spec", "timeZone"); found {
		t.Fatal("the sample already sets spec.timeZone; the test needs one that does not")
	}
	if errs := v.Validate(context.Background(), city); len(errs) > 0 {
		t.Fatalf("Validate = %v, want no errors", errs)
	}
	if tz, _, _ := unstructured.NestedString(city.Object, "spec", "timeZone"); tz != "Asia/Shanghai" {
		t.Errorf("spec.timeZone = %q, want the default Asia/Shanghai", tz)
	}
	if n, _, _ := unstructured.NestedInt64(city.Object, "spec", "tenant", "replicas"); n != 2 {
		t.Errorf("spec.tenant.replicas = %d, want the 2 the sample sets", n)
	}
	windows, _, _ := unstructured.NestedSlice(city.Object, "spec", "receptionWindows")
	want := map[string]string{
		"weekday-visits":    "Regular",
		"leader-reception":  "LeaderReception",
		"national-day-duty": "ExtendedDuty",
		"online":            "Regular",
	}
	if len(windows) != len(want) {
		t.Fatalf("%d reception windows, want %d", len(windows), len(want))
	}
	for _, w := range windows {
		m := w.(map[string]any)
		name, _ := m["name"].(string)
		if kind := m["kind"]; kind != want[name] {
			t.Errorf("window %s: kind = %v, want %q", name, kind, want[name])
		}
		if _, ok := m["closedOnHolidays"]; ok {
			t.Errorf("window %s: closedOnHolidays = %v, want it left unset (no schema default)", name, m["closedOnHolidays"])
		}
	}
}

func TestValidateDefaultsOtherKinds(t *testing.T) {
	v := newValidator(t)
	tests := []struct {
		name string
		doc  string
		path []string
		want any
	}{
		{
			name: "tenant replicas",
			doc: `
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata: {name: c}
spec: {level: City, tenant: {}}`,
			path: []string{"spec", "tenant", "replicas"},
			want: int64(1),
		},
		{
			name: "stage handler",
			doc: `
apiVersion: petition.xinfang.io/v1alpha1
kind: EscalationPolicy
metadata: {name: p}
spec:
  stages:
  - {name: Acceptance, limit: 15d}
  - {name: Handling, limit: 60d}`,
			path: []string{"spec", "stages"},
			want: []any{
				map[string]any{"name": "Acceptance", "limit": "15d", "handler": "Self"},
				map[string]any{"name": "Handling", "limit": "60d", "handler": "Self"},
			},
		},
		{
			name: "routing priority and rollout strategy",
			doc: `
apiVersion: petition.xinfang.io/v1alpha1
kind: RoutingPolicy
metadata: {name: r}
spec:
  rules: [{name: a, routeTo: {office: c}}]
  rollout: {}`,
			path: []string{"spec"},
			want: map[string]any{
				"priority": int64(0),
				"rules":    []any{map[string]any{"name": "a", "routeTo": map[string]any{"office": "c"}}},
				"rollout":  map[string]any{"strategy": "Immediate"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := object(t, tt.doc)
			if errs := v.Validate(context.Background(), obj); len(errs) > 0 {
				t.Fatalf("Validate = %v, want no errors", errs)
			}
			got, found, err := unstructured.NestedFieldNoCopy(obj.Object, tt.path...)
			if err != nil || !found {
				t.Fatalf("%s: found %v, err %v", strings.Join(tt.path, "."), found, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s = %#v, want %#v", strings.Join(tt.path, "."), got, tt.want)
			}
		})
	}
}

func TestValidateUnknownFields(t *testing.T) {
	v := newValidator(t)
	obj := object(t, `
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata: {name: x}
spec:
  level: City
  foo: 1
  receptionWindows:
  - name: a
    channels: [Visit]
    always: true
    foo: bar
  - name: b
    channels: [Phone]
    always: true
`)
	errs := v.Validate(context.Background(), obj)
	want := []string{"spec.foo: Forbidden", "spec.receptionWindows[0].foo: Forbidden"}
	if got := fieldsOf(errs); !reflect.DeepEqual(got, want) {
		t.Fatalf("Validate = %v, want %v", errs, want)
	}
	for _, e := range errs {
		if !strings.Contains(e.Detail, "unknown field") || !strings.Contains(e.Detail, "Office schema") {
			t.Errorf("%s: detail %q, want it to say the Office schema declares no such field", e.Field, e.Detail)
		}
	}
	if wantMsg := "spec.foo: Forbidden: unknown field: the Office schema declares no such field"; errs[0].Error() != wantMsg {
		t.Errorf("error = %q, want %q", errs[0].Error(), wantMsg)
	}
	spec, _, _ := unstructured.NestedMap(obj.Object, "spec")
	if _, ok := spec["foo"]; ok {
		t.Errorf("spec.foo was not pruned: %v", spec)
	}
	windows, _, _ := unstructured.NestedSlice(obj.Object, "spec", "receptionWindows")
	if len(windows) != 2 {
		t.Fatalf("%d windows after pruning, want 2", len(windows))
	}
	if _, ok := windows[0].(map[string]any)["foo"]; ok {
		t.Errorf("spec.receptionWindows[0].foo was not pruned: %v", windows[0])
	}
	if windows[0].(map[string]any)["name"] != "a" {
		t.Errorf("pruning removed a declared field: %v", windows[0])
	}
}

// anyField accepts an error at any field path.
const anyField = "*"

func TestValidateErrors(t *testing.T) {
	v := newValidator(t)
	tests := []struct {
		name      string
		doc       string
		wantField string
		wantType  field.ErrorType
		wantIn    string
	}{
		{
			name: "level not in the enum",
			doc: `
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata: {name: x}
spec: {level: Town, parent: c}`,
			wantField: "spec.level",
			wantType:  field.ErrorTypeNotSupported,
			wantIn:    `Unsupported value: "Town": supported values: "City", "County", "Township", "Village", "Department"`,
		},
		{
			name: "a City with a parent",
			doc: `
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata: {name: x}
spec: {level: City, parent: other}`,
			wantField: "spec",
			wantType:  field.ErrorTypeInvalid,
			wantIn:    "a City has no parent; every other level needs one",
		},
		{
			name: "a County without a parent",
			doc: `
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata: {name: x}
spec: {level: County}`,
			wantField: "spec",
			wantType:  field.ErrorTypeInvalid,
			wantIn:    "a City has no parent; every other level needs one",
		},
		{
			name: "metadata.name not a DNS name",
			doc: `
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata: {name: Bad_Name}
spec: {level: City}`,
			wantField: "metadata.name",
			wantType:  field.ErrorTypeInvalid,
			wantIn:    `Invalid value: "Bad_Name"`,
		},
		{
			name: "metadata.name too long for the namespace",
			doc: `
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata: {name: ` + strings.Repeat("a", 57) + `}
spec: {level: City}`,
			// A rule on the whole object: the API server names no field.
			wantField: anyField,
			wantType:  field.ErrorTypeInvalid,
			wantIn:    "metadata.name must be a DNS-1123 label of at most 56 characters",
		},
		{
			name: "parent naming the office itself",
			doc: `
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata: {name: x}
spec: {level: County, parent: x}`,
			wantField: anyField,
			wantType:  field.ErrorTypeInvalid,
			wantIn:    "spec.parent must not name the office itself",
		},
		{
			name: "department on a County",
			doc: `
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata: {name: x}
spec: {level: County, parent: c, department: HumanResources}`,
			wantField: "spec",
			wantType:  field.ErrorTypeInvalid,
			wantIn:    "department is required for level Department and not allowed for other levels",
		},
		{
			name: "window start after end",
			doc: `
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata: {name: x}
spec:
  level: City
  receptionWindows:
  - {name: a, channels: [Visit], times: [{start: "12:00", end: "09:00"}]}`,
			wantField: "spec.receptionWindows[0].times[0]",
			wantType:  field.ErrorTypeInvalid,
			wantIn:    "start must be before end",
		},
		{
			name: "escalation policy without Handling",
			doc: `
apiVersion: petition.xinfang.io/v1alpha1
kind: EscalationPolicy
metadata: {name: p}
spec:
  stages:
  - {name: Acceptance, limit: 15d}
  - {name: Review, limit: 30d}`,
			wantField: "spec",
			wantType:  field.ErrorTypeInvalid,
			wantIn:    "stages must include Acceptance and Handling",
		},
		{
			name: "holiday ending before it starts",
			doc: `
apiVersion: petition.xinfang.io/v1alpha1
kind: HolidayCalendar
metadata: {name: h}
spec:
  holidays: [{name: x, from: "2026-10-07", to: "2026-10-01"}]`,
			wantField: "spec.holidays[0]",
			wantType:  field.ErrorTypeInvalid,
			wantIn:    "to must not be before from",
		},
		{
			name: "routing policy without rules",
			doc: `
apiVersion: petition.xinfang.io/v1alpha1
kind: RoutingPolicy
metadata: {name: r}
spec: {}`,
			wantField: "spec.rules",
			wantType:  field.ErrorTypeRequired,
			wantIn:    "Required value",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := v.Validate(context.Background(), object(t, tt.doc))
			var found bool
			for _, e := range errs {
				if (tt.wantField == anyField || e.Field == tt.wantField) && e.Type == tt.wantType && strings.Contains(e.Error(), tt.wantIn) {
					found = true
				}
			}
			if !found {
				t.Errorf("Validate = %v, want a %s error at %q containing %q", errs, tt.wantType, tt.wantField, tt.wantIn)
			}
		})
	}
}

// TestValidateDropsNotCheckedNote checks that the API server's note that
// some rules were not checked, which names no field, is left out while the
// error that caused it is kept.
func TestValidateDropsNotCheckedNote(t *testing.T) {
	v := newValidator(t)
	doc := `
apiVersion: petition.xinfang.io/v1alpha1
kind: Office
metadata: {name: x}
spec: {level: Town, parent: c}
`
	// The strategy alone adds the note: the test is only meaningful while
	// it does.
	raw := object(t, doc)
	var noted bool
	for _, e := range v.kinds[raw.GroupVersionKind()].strategy.Validate(context.Background(), raw) {
		if strings.HasPrefix(e.Detail, "some validation rules were not checked") {
			noted = true
		}
	}
	if !noted {
		t.Fatal("the API server's strategy no longer adds the note; the filter is not exercised")
	}

	errs := v.Validate(context.Background(), object(t, doc))
	if len(errs) == 0 {
		t.Fatal("Validate = no errors, want the enum violation")
	}
	for _, e := range errs {
		if e.Field == "" || e.Field == "<nil>" || strings.Contains(e.Detail, "not checked") {
			t.Errorf("Validate kept %q, want only errors naming a field", e.Error())
		}
	}
	if got, want := fieldsOf(errs), []string{"spec.level: Unsupported value"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Validate = %v, want %v", got, want)
	}
}

// widgetCRD is a CRD of kind Widget in group example.com with the given
// scope; versions continues its first version (v1, served, stored) from
// its openAPIV3Schema on.
func widgetCRD(scope, versions string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: ` + scope + `
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
` + versions)}
}

func TestNewFromFSErrors(t *testing.T) {
	crd := func(schema string) *fstest.MapFile { return widgetCRD("Cluster", schema) }
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		wantErr string
	}{
		{name: "no directory", fsys: fstest.MapFS{}, wantErr: "bases"},
		{
			name:    "not a CRD",
			fsys:    fstest.MapFS{"bases/a.yaml": {Data: []byte("spec: {bogus: 1}\n")}},
			wantErr: "a.yaml: ",
		},
		{
			name: "schema not structural",
			fsys: fstest.MapFS{"bases/w.yaml": crd(`        type: object
        patternProperties:
          "^a": {type: string}
`)},
			wantErr: "w.yaml: OpenAPIV3Schema 'patternProperties' is not supported",
		},
		{
			name:    "directory entry unreadable",
			fsys:    fstest.MapFS{"bases/sub/x.yaml": {Data: []byte("{}")}},
			wantErr: "sub",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := newFromFS(tt.fsys, "bases")
			if err == nil {
				t.Fatalf("newFromFS = %v, want an error", v)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("newFromFS error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewFromFSSkipsUnservedVersions(t *testing.T) {
	fsys := fstest.MapFS{"bases/w.yaml": widgetCRD("Namespaced", `        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, default: 3}
  - name: v0
    served: false
    storage: false
    schema:
      openAPIV3Schema: {type: object}
  - name: v2
    served: true
    storage: false
`)}
	v, err := newFromFS(fsys, "bases")
	if err != nil {
		t.Fatalf("newFromFS = %v, want no error", err)
	}
	w1 := k8sschema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	for _, tt := range []struct {
		version string
		want    bool
	}{{"v1", true}, {"v0", false}, {"v2", false}} {
		g := w1
		g.Version = tt.version
		if got := v.Knows(g); got != tt.want {
			t.Errorf("Knows(Widget %s) = %v, want %v", tt.version, got, tt.want)
		}
	}
	obj := object(t, `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w, namespace: ns}, spec: {}}`)
	if errs := v.Validate(context.Background(), obj); len(errs) > 0 {
		t.Fatalf("Validate = %v, want no errors", errs)
	}
	if n, _, _ := unstructured.NestedInt64(obj.Object, "spec", "size"); n != 3 {
		t.Errorf("spec.size = %d, want the default 3", n)
	}
}

func TestUnstructuredTyper(t *testing.T) {
	var typer unstructuredTyper
	if _, _, err := typer.ObjectKinds(&unstructured.Unstructured{Object: map[string]any{}}); err == nil {
		t.Error("ObjectKinds(no kind) = nil error, want one")
	}
	obj := object(t, `{apiVersion: petition.xinfang.io/v1alpha1, kind: Office}`)
	kinds, unversioned, err := typer.ObjectKinds(obj)
	if err != nil || unversioned || len(kinds) != 1 || kinds[0] != gvk("v1alpha1", "Office") {
		t.Errorf("ObjectKinds = %v, %v, %v; want [Office v1alpha1], false, nil", kinds, unversioned, err)
	}
	if !typer.Recognizes(gvk("v1", "Anything")) {
		t.Error("Recognizes = false, want true")
	}
}
