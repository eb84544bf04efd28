package tenant

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"

	"github.com/xinfang/petition-operator/internal/casestore"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// RegistryRef is the case registry of an office's City, to which its desk
// forwards the petitions it takes.
type RegistryRef struct {
	// URL is the registry's address as the desk calls it (--registry-url):
	// http or https, a host, no user, query or fragment.
	URL string
	// Namespace is the namespace the registry's pods run in: the desk's
	// NetworkPolicy lets it reach them there, and only them, on
	// casestore.RegistryPort.
	Namespace string
}

// What the operator gives a desk whose City has a registry: a projected
// ServiceAccount token for the registry's audience, mounted read-only, and
// the flags that name the registry and the token's file.
const (
	// RegistryTokenVolume is the desk pod's volume of the token.
	RegistryTokenVolume = "registry-token"
	// RegistryTokenDir is where the desk container mounts it.
	RegistryTokenDir = "/var/run/secrets/petition-registry"
	// RegistryTokenFile is the token's file in it.
	RegistryTokenFile = RegistryTokenDir + "/token"
	// RegistryTokenSeconds is the token's lifetime; the kubelet replaces
	// it at 80% of that, and the desk reads the file again.
	RegistryTokenSeconds = 3600
	// RegistryURLFlag and RegistryTokenFileFlag are the desk's flags.
	RegistryURLFlag       = "--registry-url"
	RegistryTokenFileFlag = "--registry-token-file"
)

// maxRegistryURL bounds RegistryRef.URL.
const maxRegistryURL = 512

// checkCity refuses a City name that is no label value: it names the
// namespace's casestore.LabelCity and the registry pods the desk may reach.
func checkCity(city string) error {
	if errs := validation.IsDNS1123Label(city); len(errs) > 0 {
		return fmt.Errorf("the office's City %s is not a DNS label: %s", xinfang.Quote(city), strings.Join(errs, "; "))
	}
	return nil
}

// check refuses a registry reference the desk could not use or that would
// let it reach more than the registry.
func (r *RegistryRef) check() error {
	if len(r.URL) > maxRegistryURL {
		return fmt.Errorf("the registry URL %s is longer than %d bytes", xinfang.Quote(r.URL), maxRegistryURL)
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("the registry URL %s is not an http or https address without user, query or fragment", xinfang.Quote(r.URL))
	}
	if errs := validation.IsDNS1123Label(r.Namespace); len(errs) > 0 {
		return fmt.Errorf("the registry's namespace %s is not a namespace name: %s", xinfang.Quote(r.Namespace), strings.Join(errs, "; "))
	}
	return nil
}

// registryArgs are the desk's arguments that name the registry and the
// token it presents.
func registryArgs(r *RegistryRef) []string {
	return []string{RegistryURLFlag + "=" + r.URL, RegistryTokenFileFlag + "=" + RegistryTokenFile}
}

// registryPatches give the desk its City's registry: the token volume and
// its mount, the flags, and the NetworkPolicy rule to the registry's pods.
// They come after the office's patches, so that an office's patch of the
// desk's args (which replaces the list) keeps them, and none can remove
// them; the judge then holds the rendered args to them (keepRegistryArgs).
func registryPatches(in Input) ([]kusttypes.Patch, error) {
	r := in.Registry
	volume := corev1.Volume{Name: RegistryTokenVolume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
			Audience: casestore.Audience, ExpirationSeconds: ptr.To[int64](RegistryTokenSeconds), Path: "token",
		}}},
	}}}
	mount := corev1.VolumeMount{Name: RegistryTokenVolume, MountPath: RegistryTokenDir, ReadOnly: true}
	type op struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	deploy := []op{
		{"add", "/spec/template/spec/volumes/-", volume},
		{"add", "/spec/template/spec/containers/0/volumeMounts/-", mount},
	}
	for _, a := range registryArgs(r) {
		deploy = append(deploy, op{"add", "/spec/template/spec/containers/0/args/-", a})
	}
	tcp := corev1.ProtocolTCP
	port := intstr.FromInt32(casestore.RegistryPort)
	egress := networkingv1.NetworkPolicyEgressRule{
		To: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: r.Namespace}},
			PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
				casestore.LabelName: casestore.RegistryApp, casestore.LabelCity: in.City,
			}},
		}},
		Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}},
	}
	policy := []op{{"add", "/spec/egress/-", egress}}
	var patches []kusttypes.Patch
	for _, p := range []struct {
		kind string
		ops  []op
	}{{"Deployment", deploy}, {"NetworkPolicy", policy}} {
		data, err := json.Marshal(p.ops)
		if err != nil {
			return nil, err
		}
		patches = append(patches, kusttypes.Patch{Patch: string(data),
			Target: &kusttypes.Selector{ResId: resid.ResId{Gvk: resid.Gvk{Kind: p.kind}, Name: "desk"}}})
	}
	return patches, nil
}

// isRegistryArg reports whether a desk argument sets one of the registry
// flags, however it is written (-registry-url, --registry-url=…): any
// argument whose name, past its dashes, begins with "registry".
func isRegistryArg(arg string) bool {
	return strings.HasPrefix(arg, "-") && strings.HasPrefix(strings.TrimLeft(arg, "-"), "registry")
}

// isNameValue reports whether a desk argument is a flag with its value in
// it (--name=value): one that the desk's flag parsing reads as a flag
// whatever the flags are.
func isNameValue(arg string) bool {
	name, _, ok := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	return ok && strings.HasPrefix(arg, "-") && name != "" && arg != "--"
}

// keepRegistryArgs judges a patch's change of the desk's args: the
// registry arguments, which say where the desk forwards petitions and
// with which identity, stay exactly as the operator renders them (none
// when the City has no registry), and every argument before them is a
// --name=value flag, so that the desk's flag parsing, which stops at the
// first argument that is not a flag, still reads them.
func keepRegistryArgs(_ Limits, before, after any) error {
	was, _ := stringList(before)
	now, ok := stringList(after)
	if !ok {
		return errors.New("must be a list of strings")
	}
	want := slices.DeleteFunc(slices.Clone(was), func(a string) bool { return !isRegistryArg(a) })
	got := slices.DeleteFunc(slices.Clone(now), func(a string) bool { return !isRegistryArg(a) })
	if !slices.Equal(want, got) {
		return fmt.Errorf("the %s and %s arguments are the operator's (the City's case registry and the token the desk presents to it): patches may not set, change or remove them", RegistryURLFlag, RegistryTokenFileFlag)
	}
	if len(want) == 0 {
		return nil
	}
	last := 0
	for i, a := range now {
		if isRegistryArg(a) {
			last = i
		}
	}
	for i, a := range now[:last] {
		if !isRegistryArg(a) && !isNameValue(a) {
			return fmt.Errorf("%d: %s comes before the operator's %s arguments: arguments before them must be --name=value flags, or the desk stops reading flags there", i, xinfang.Quote(a), RegistryURLFlag)
		}
	}
	return nil
}

// stringList is v as a list of strings; ok is false when it is not one.
// A list removed (nil) is an empty one.
func stringList(v any) ([]string, bool) {
	if v == nil {
		return nil, true
	}
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(list))
	for i, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}
