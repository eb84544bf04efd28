// Package manifests reads the objects of this API from YAML or JSON files, as
// a GitOps repository holds them, for petitionctl's offline mode.
package manifests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/network"
)

// MaxFileBytes bounds the size of one manifest file.
const MaxFileBytes = 8 << 20

// Set is the objects of this API found in a set of files.
type Set struct {
	Offices            []v1alpha1.Office
	RoutingPolicies    []v1alpha1.RoutingPolicy
	EscalationPolicies []v1alpha1.EscalationPolicy
	HolidayCalendars   []v1alpha1.HolidayCalendar
}

var codecs = func() serializer.CodecFactory {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return serializer.NewCodecFactory(s, serializer.EnableStrict)
}()

// Load reads every .yaml, .yml and .json file under the given paths (files
// or directories, recursively). Documents of other API groups are skipped, as
// a GitOps repository holds many kinds; documents of this group must decode
// strictly (no unknown or duplicate fields).
func Load(paths ...string) (*Set, error) {
	set := &Set{}
	for _, p := range paths {
		files, err := expand(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if err := set.loadFile(f); err != nil {
				return nil, err
			}
		}
	}
	sort.Slice(set.Offices, func(i, j int) bool { return set.Offices[i].Name < set.Offices[j].Name })
	return set, nil
}

func expand(p string) ([]string, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				files = append(files, path)
			}
		}
		return nil
	})
	return files, err
}

// Snapshot returns the network the set declares.
func (s *Set) Snapshot() *network.Snapshot {
	return &network.Snapshot{Offices: s.Offices, RoutingPolicies: s.RoutingPolicies, EscalationPolicies: s.EscalationPolicies, HolidayCalendars: s.HolidayCalendars}
}

func (s *Set) loadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return err
	}
	if len(data) > MaxFileBytes {
		return fmt.Errorf("%s: larger than %d bytes", path, MaxFileBytes)
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", path, doc, err)
		}
		if err := s.add(raw); err != nil {
			return fmt.Errorf("%s: document %d: %w", path, doc, err)
		}
	}
}

func (s *Set) add(raw []byte) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := utilyaml.Unmarshal(raw, &meta); err != nil {
		return err
	}
	if meta.APIVersion == "" && meta.Kind == "" {
		return nil // a comment-only or empty document
	}
	gv, err := schema.ParseGroupVersion(meta.APIVersion)
	if err != nil {
		return err
	}
	if gv.Group != v1alpha1.GroupVersion.Group {
		return nil
	}
	obj, _, err := codecs.UniversalDeserializer().Decode(raw, nil, nil)
	if err != nil {
		return err
	}
	switch o := obj.(type) {
	case *v1alpha1.Office:
		s.Offices = append(s.Offices, *o)
	case *v1alpha1.RoutingPolicy:
		s.RoutingPolicies = append(s.RoutingPolicies, *o)
	case *v1alpha1.EscalationPolicy:
		s.EscalationPolicies = append(s.EscalationPolicies, *o)
	case *v1alpha1.HolidayCalendar:
		s.HolidayCalendars = append(s.HolidayCalendars, *o)
	default:
		return fmt.Errorf("unsupported kind %s", meta.Kind)
	}
	return nil
}
