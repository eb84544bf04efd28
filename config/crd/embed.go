// Package crd embeds the generated CustomResourceDefinitions so that
// petitionctl validates offline against exactly the schemas the API server
// enforces.
package crd

import "embed"

// Bases holds config/crd/bases/*.yaml, as controller-gen writes them.
//
//go:embed bases/*.yaml
var Bases embed.FS
