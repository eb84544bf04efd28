// Package buildinfo is the build-info metric of each binary: which version
// runs where, as Prometheus's own binaries report it.
package buildinfo

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xinfang/petition-operator/internal/version"
)

// Collector returns the gauge <binary>_build_info, always 1, labelled with
// the binary's version, the VCS revision it was built from and the Go
// version that built it: petition_operator_build_info{version="v0.1.0",
// revision="…", goversion="go1.26.0"}.
func Collector(binary string) prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: binary + "_build_info",
		Help: "The version, revision and Go version the binary was built with; always 1.",
	}, []string{"version", "revision", "goversion"})
	v := version.String()
	g.WithLabelValues(v, version.Revision, runtime.Version()).Set(1)
	return g
}
