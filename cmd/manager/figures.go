package main

import (
	"flag"
	"fmt"
	"net/url"
	"strings"

	"github.com/xinfang/petition-operator/controllers"
)

// registryURLFlag is --registry-url: the URL of the Cities' registries
// when the operator runs outside the cluster, "{city}" standing for the
// City's name.
type registryURLFlag struct{ template string }

func (f *registryURLFlag) String() string { return f.template }

func (f *registryURLFlag) Set(v string) error {
	u, err := url.Parse(strings.ReplaceAll(v, "{city}", "city"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want an http or https URL, e.g. http://127.0.0.1:8090 or https://{city}-registry.example.org")
	}
	f.template = v
	return nil
}

// url returns the URL of a City's registry, or nil to use the in-cluster
// Service of each.
func (f *registryURLFlag) url() func(city string) string {
	if f.template == "" {
		return nil
	}
	t := f.template
	return func(city string) string { return strings.ReplaceAll(t, "{city}", city) }
}

// bindFiguresFlags binds the flags of the Cities' case figures.
func bindFiguresFlags(fs *flag.FlagSet, o *controllers.Options, registryURL *registryURLFlag) {
	fs.Var(registryURL, "registry-url", "URL of the Cities' case registries, {city} standing for a City's name, for an operator outside the cluster; empty means each City's in-cluster Service (cases-<city>.<cases namespace>.svc).")
	fs.StringVar(&o.Figures.TokenFile, "registry-token-file", controllers.DefaultRegistryTokenFile,
		"File of the token the operator presents to the registries (a projected ServiceAccount token of audience petition-registry, read again at each reading).")
	fs.DurationVar(&o.Figures.Interval, "case-figures-interval", controllers.DefaultFiguresInterval,
		"How often the operator reads each City's case figures into its offices' status (written only when a figure changes); a negative value turns it off.")
}
