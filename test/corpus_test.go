// Package test holds the corpus of malformed and hostile manifests: each
// file of corpus/ is refused, with the message it names, both by petitionctl
// validate (offline) and by the API server with the operator's webhooks
// (cluster), and the cluster is left as it was. A reference to an object
// that does not exist is the exception: the cluster admits it with a
// warning, so that a GitOps tool may apply a network in any order, and
// petitionctl validate, which reads the whole change, refuses it.
package test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/cmd/manager/app/apptest"
	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/testenv"
	"github.com/xinfang/petition-operator/internal/validate"
)

var seed = flag.Uint64("seed", 0, "seed of the order the base network is applied in; 0 picks one")

var (
	k8s      client.Client
	warnings = &testenv.WarningRecorder{}
	operator *apptest.Operator
	root     string
)

// corpusMinimum is the least number of cases the corpus holds.
const corpusMinimum = 150

// baseDir is the valid network every case is judged against: the samples.
const baseDir = "config/samples"

// refusedParallel is -test.parallel when it is not given: how many cases
// TestCorpusOffline checks at once, and how many cases that send one
// document, to be refused, TestCorpusCluster sends at once (each a round
// trip or two to the API server and the webhooks, mostly waiting).
const refusedParallel = 8

// TestMain runs the operator with only its webhooks: what is judged here
// is admission. Without the reconcilers offices get no finalizer, so a
// case's objects delete at once.
func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		if err := flag.Set("test.parallel", strconv.Itoa(refusedParallel)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(apptest.Run(m, apptest.OperatorOptions{}, func(env *testenv.Env, op *apptest.Operator) error {
		root, operator = env.Root, op
		var err error
		k8s, err = env.ClientWithWarnings(warnings)
		return err
	}))
}

// corpusCase is one file of corpus/.
type corpusCase struct {
	name string
	path string
	// offline are the texts petitionctl validate must print, each in some
	// line about the case's objects.
	offline []string
	// cluster is the text of the API server's refusal of the last
	// document; empty with skip for what never reaches an API server.
	cluster string
	skip    string
	// warning, instead of cluster, is the text of the warning with which
	// the API server admits the last document: a reference to an object
	// that does not exist, which a GitOps tool may apply later.
	warning string
	docs    [][]byte
}

func loadCorpus(t *testing.T) []corpusCase {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(root, "test", "corpus", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []corpusCase
	for _, p := range paths {
		c := corpusCase{name: strings.TrimSuffix(filepath.Base(p), ".yaml"), path: p}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "#") {
				break
			}
			switch {
			case strings.HasPrefix(line, "# offline: "):
				c.offline = append(c.offline, strings.TrimPrefix(line, "# offline: "))
			case strings.HasPrefix(line, "# cluster: skip: "):
				c.skip = strings.TrimPrefix(line, "# cluster: skip: ")
			case strings.HasPrefix(line, "# cluster: warning: "):
				c.warning = strings.TrimPrefix(line, "# cluster: warning: ")
			case strings.HasPrefix(line, "# cluster: "):
				c.cluster = strings.TrimPrefix(line, "# cluster: ")
			}
		}
		if n := len(slices.DeleteFunc([]string{c.cluster, c.skip, c.warning}, func(s string) bool { return s == "" })); len(c.offline) == 0 || n != 1 {
			t.Errorf("%s: the header needs at least one '# offline: ' line and one of '# cluster: ', '# cluster: warning: ' or '# cluster: skip: '", p)
			continue
		}
		docs, errs := objfiles.ReadDocuments(p)
		if len(errs) == 0 {
			for _, d := range docs {
				if gvk, _, err := objfiles.TypeOf(d.Raw); err == nil && gvk.Kind != "" {
					c.docs = append(c.docs, d.Raw)
				}
			}
		}
		if c.skip == "" && len(c.docs) == 0 {
			t.Errorf("%s: no object to send to the cluster", p)
		}
		cases = append(cases, c)
	}
	if len(cases) < corpusMinimum {
		t.Errorf("the corpus holds %d cases; it must hold at least %d", len(cases), corpusMinimum)
	}
	return cases
}

// key names an object of a document: Kind/name.
func key(raw []byte) string {
	var meta struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	_ = yaml.Unmarshal(raw, &meta)
	return meta.Kind + "/" + meta.Metadata.Name
}

// TestBaseIsValid makes sure every problem the corpus finds is the case's.
func TestBaseIsValid(t *testing.T) {
	problems, err := validate.Files(context.Background(), filepath.Join(root, baseDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", baseDir, p)
	}
}

// TestCorpusOffline runs petitionctl validate's checks on the base network
// changed by each case (a case's object replaces the base's of the same
// kind and name, as a pull request would) and expects each case's message.
// The cases share nothing and run side by side.
func TestCorpusOffline(t *testing.T) {
	baseDocs, errs := objfiles.ReadDocuments(filepath.Join(root, baseDir))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, c := range loadCorpus(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			replaced := map[string]bool{}
			for _, d := range c.docs {
				replaced[key(d)] = true
			}
			var base bytes.Buffer
			for _, d := range baseDocs {
				if !replaced[key(d.Raw)] {
					base.WriteString("---\n")
					base.Write(d.Raw)
				}
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "base.yaml"), base.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			problems, err := validate.Files(context.Background(), filepath.Join(dir, "base.yaml"), c.path)
			if err != nil {
				t.Fatal(err)
			}
			lines := make([]string, len(problems))
			for i, p := range problems {
				lines[i] = p.String()
			}
			out := strings.Join(lines, "\n")
			if len(problems) == 0 {
				t.Fatalf("valid; want %q", c.offline)
			}
			for _, want := range c.offline {
				if !strings.Contains(out, want) {
					t.Errorf("petitionctl validate says:\n%s\nwant a line with %q", out, want)
				}
			}
		})
	}
}

// TestCorpusCluster applies the base network in a random order, then each
// case's documents in turn: every document but the last is admitted, the
// last is refused with the case's message, and once the case's own objects
// are removed every object of the base is as it was. The cases that
// create something (a document that sets the case up, or one admitted with
// a warning) run one at a time; then the cases of one document to be
// refused, which change nothing, run side by side (refusedParallel, or
// -test.parallel, at once) against the same base.
func TestCorpusCluster(t *testing.T) {
	ctx := context.Background()
	s := *seed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("applying %s in the order of seed %d (go test ./test -seed %d repeats it)", baseDir, s, s)
	baseDocs, errs := objfiles.ReadDocuments(filepath.Join(root, baseDir))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var objs [][]byte
	for _, d := range baseDocs {
		if gvk, ours, err := objfiles.TypeOf(d.Raw); err == nil && ours && gvk.Kind != "" {
			objs = append(objs, d.Raw)
		}
	}
	rand.New(rand.NewPCG(s, s)).Shuffle(len(objs), func(i, j int) { objs[i], objs[j] = objs[j], objs[i] })
	for _, raw := range objs {
		if err := apply(ctx, raw); err != nil {
			t.Fatalf("applying %s of the base: %v", key(raw), err)
		}
	}
	for _, raw := range objs {
		obj, err := decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		waitForCache(t, obj, true)
	}
	// This process runs no reconcilers, so the webhook gives no office the
	// finalizer that no one here would remove.
	var offices v1alpha1.OfficeList
	if err := k8s.List(ctx, &offices); err != nil {
		t.Fatal(err)
	}
	for _, o := range offices.Items {
		if len(o.Finalizers) > 0 {
			t.Errorf("office %s has finalizers %v", o.Name, o.Finalizers)
		}
	}
	before := inventory(t)
	// Once every case is over, those run side by side too: a test's
	// cleanups run after its parallel subtests.
	t.Cleanup(func() {
		after := inventory(t)
		if !reflect.DeepEqual(before, after) {
			t.Errorf("the cluster changed:\nbefore %v\nafter  %v", before, after)
		}
	})
	for _, c := range loadCorpus(t) {
		t.Run(c.name, func(t *testing.T) {
			if c.skip != "" {
				t.Skip(c.skip)
			}
			if c.warning == "" && len(c.docs) == 1 {
				// Refused, it changes nothing another case could see
				// (admitted, it fails and is removed at once).
				t.Parallel()
			}
			var created []*unstructured.Unstructured
			defer func() { rollback(t, created) }()
			for i, raw := range c.docs {
				obj, err := decode(raw)
				if err != nil {
					t.Fatalf("document %d is not an object the API server can read (%v); mark the case '# cluster: skip: '", i+1, err)
				}
				exists := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj.DeepCopy()) == nil
				warnings.Reset()
				err = apply(ctx, raw)
				last := i == len(c.docs)-1
				if !last {
					if err != nil {
						t.Fatalf("document %d (%s), which sets the case up, was refused: %v", i+1, key(raw), err)
					}
					if !exists {
						created = append(created, obj)
					}
					waitForCache(t, obj, true)
					continue
				}
				if err == nil && !exists {
					created = append(created, obj)
				}
				if c.warning != "" {
					if err != nil {
						t.Fatalf("%s was refused (%v); want it admitted with a warning saying %q", key(raw), err, c.warning)
					}
					if got := strings.Join(warnings.Messages(), "\n"); !strings.Contains(got, c.warning) {
						t.Errorf("the API server warned %q; want %q", got, c.warning)
					}
					return
				}
				if err == nil {
					t.Fatalf("%s was admitted; want a refusal saying %q", key(raw), c.cluster)
				}
				if !strings.Contains(err.Error(), c.cluster) {
					t.Errorf("the API server said %q; want %q", err, c.cluster)
				}
			}
		})
	}
}

// decode reads a document as the API server would receive it.
func decode(raw []byte) (*unstructured.Unstructured, error) {
	data, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return obj, nil
}

// apply creates or replaces the object of raw as kubectl apply would, with
// strict field validation.
func apply(ctx context.Context, raw []byte) error {
	obj, err := decode(raw)
	if err != nil {
		return err
	}
	current := obj.DeepCopy()
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), current); err != nil {
		if !apierrors.IsNotFound(err) {
			return err
		}
		return k8s.Create(ctx, obj, client.FieldValidation("Strict"))
	}
	obj.SetResourceVersion(current.GetResourceVersion())
	return k8s.Update(ctx, obj, client.FieldValidation("Strict"))
}

// rollback deletes what a case created, last first, and waits until the
// webhooks no longer see it.
func rollback(t *testing.T, created []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for i := len(created) - 1; i >= 0; i-- {
		obj := created[i]
		// The webhook refuses to delete a parent while its cache still
		// holds a child deleted a moment ago.
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			err := k8s.Delete(ctx, obj.DeepCopy())
			return err == nil || apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Errorf("removing %s/%s: %v", obj.GetKind(), obj.GetName(), err)
			continue
		}
		waitForCache(t, obj, false)
	}
}

// waitForCache waits until the webhooks' cache holds obj, or no longer does.
func waitForCache(t *testing.T, obj *unstructured.Unstructured, present bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(obj.GroupVersionKind())
		err := operator.Cache.Get(ctx, client.ObjectKeyFromObject(obj), u)
		if present {
			return err == nil, nil
		}
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("the webhooks' cache did not see %s/%s %s", obj.GetKind(), obj.GetName(), map[bool]string{true: "appear", false: "go"}[present])
	}
}

// inventory lists every object of the API with what a write would change:
// its generation, labels and annotations.
func inventory(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, kind := range []string{"Office", "RoutingPolicy", "EscalationPolicy", "HolidayCalendar", "DutyPeriod"} {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(schema.GroupVersionKind{Group: v1alpha1.GroupVersion.Group, Version: v1alpha1.GroupVersion.Version, Kind: kind + "List"})
		if err := k8s.List(context.Background(), list); err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Items {
			out = append(out, fmt.Sprintf("%s/%s generation=%d labels=%v annotations=%v", kind, o.GetName(), o.GetGeneration(), o.GetLabels(), o.GetAnnotations()))
		}
	}
	slices.Sort(out)
	return out
}
