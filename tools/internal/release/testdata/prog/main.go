// Command prog is a small program with two modules linked in, built by the
// SBOM test: a test's own program records no modules.
package main

import (
	"fmt"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"
)

func main() {
	b, _ := yaml.Marshal(map[string]string{"id": uuid.NewString()})
	fmt.Print(string(b))
}
