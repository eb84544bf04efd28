package registry_test

import (
	"errors"
	"testing"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/registry"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// TestReloadingKeepsTheLastGoodNetwork: a new office in the files gives a
// new network; the same files give the same one; a failed read keeps the
// last good one.
func TestReloadingKeepsTheLastGoodNetwork(t *testing.T) {
	city := v1alpha1.Office{}
	city.Name, city.Spec.Level = "a-city", v1alpha1.LevelCity
	county := v1alpha1.Office{}
	county.Name, county.Spec.Level, county.Spec.Parent = "a-county", v1alpha1.LevelCounty, "a-city"
	offices := []v1alpha1.Office{city}
	var fail error
	r, err := registry.NewReloading(func() (*xinfang.Snapshot, error) {
		return &xinfang.Snapshot{Offices: offices}, fail
	})
	if err != nil {
		t.Fatal(err)
	}
	first := r.Current()
	if changed, err := r.Reload(); changed || err != nil || r.Current() != first {
		t.Errorf("the same files: changed=%v err=%v", changed, err)
	}
	offices = append(offices, county)
	if changed, err := r.Reload(); !changed || err != nil {
		t.Errorf("a new office: changed=%v err=%v", changed, err)
	}
	if _, ok := r.Current().Office("a-county"); !ok {
		t.Error("the reloaded network does not know a-county")
	}
	good := r.Current()
	fail = errors.New("unreadable")
	if _, err := r.Reload(); err == nil || r.Current() != good {
		t.Errorf("a failed read: err=%v, network kept: %v", err, r.Current() == good)
	}
}
