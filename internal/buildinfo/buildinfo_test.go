package buildinfo_test

import (
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xinfang/petition-operator/internal/buildinfo"
	"github.com/xinfang/petition-operator/internal/version"
)

func TestCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(buildinfo.Collector("petition_desk"))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) != 1 || families[0].GetName() != "petition_desk_build_info" || len(families[0].GetMetric()) != 1 {
		t.Fatalf("families %v, want petition_desk_build_info alone", families)
	}
	m := families[0].GetMetric()[0]
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	if m.GetGauge().GetValue() != 1 || labels["version"] != version.String() || labels["goversion"] != runtime.Version() {
		t.Errorf("petition_desk_build_info %v = %v, want version %s, goversion %s, value 1", labels, m.GetGauge().GetValue(), version.String(), runtime.Version())
	}
	if _, ok := labels["revision"]; !ok {
		t.Errorf("petition_desk_build_info %v: want a revision label, empty when unknown", labels)
	}
}
