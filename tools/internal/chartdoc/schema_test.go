package chartdoc

import (
	"strings"
	"testing"
)

const fixtureSchema = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "global": {"type": "object", "description": "Helm's globals.", "additionalProperties": true},
    "replicaCount": {"type": "integer", "description": "Replicas.", "minimum": 1},
    "webhook": {
      "type": "object",
      "description": "Webhooks.",
      "properties": {
        "enabled": {"type": "boolean", "description": "Serve them."},
        "certs": {"type": "string", "description": "Where the certificate comes from.", "enum": ["selfSigned", "certManager"]}
      },
      "additionalProperties": false
    },
    "podLabels": {"type": "object", "description": "Pod labels.", "additionalProperties": {"type": "string"}},
    "extraArgs": {"type": "array", "description": "Flags.", "items": {"type": "string"}}
  },
  "additionalProperties": false
}`

const fixtureValues = `# Replicas of the manager.
replicaCount: 2
webhook:
  enabled: true
  # Where the certificate comes from:
  #   selfSigned   the manager's
  #   certManager  cert-manager's
  certs: selfSigned
podLabels:
  team: petition
extraArgs: []
`

func TestWalk(t *testing.T) {
	schema, err := ParseSchema([]byte(fixtureSchema))
	if err != nil {
		t.Fatal(err)
	}
	values, err := Walk([]byte(fixtureValues), schema)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, v := range values {
		p := v.Path
		if v.Leaf {
			p += "*"
		}
		paths = append(paths, p)
	}
	// In the order of values.yaml; the free-form map is a leaf, its keys
	// are not walked.
	if got, want := strings.Join(paths, " "), "replicaCount* webhook webhook.enabled* webhook.certs* podLabels* extraArgs*"; got != want {
		t.Errorf("walked %s, want %s", got, want)
	}
	if values[0].Comment != "Replicas of the manager." {
		t.Errorf("comment of replicaCount %q", values[0].Comment)
	}
	if want := "Where the certificate comes from:\n  selfSigned   the manager's\n  certManager  cert-manager's"; values[3].Comment != want {
		t.Errorf("comment of webhook.certs %q, want %q", values[3].Comment, want)
	}
}

// TestWalkRefuses: every way the two files may disagree is refused, naming
// the key.
func TestWalkRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, schema, values, want string
	}{
		{"key not in the schema", fixtureSchema, fixtureValues + "nodeSelector: {}\n", "nodeSelector: in values.yaml, not in the schema"},
		{"nested key not in the schema", fixtureSchema, strings.Replace(fixtureValues, "  enabled: true\n", "  enabled: true\n  port: 9443\n", 1), "webhook.port: in values.yaml, not in the schema"},
		{"key not in values.yaml", fixtureSchema, strings.Replace(fixtureValues, "extraArgs: []\n", "", 1), "extraArgs: in the schema, not in values.yaml"},
		{"no description", strings.Replace(fixtureSchema, `"description": "Serve them."`, `"description": ""`, 1), fixtureValues, "webhook.enabled: the schema has no description of it"},
		{"object open to misspelt keys", strings.Replace(fixtureSchema, `},
      "additionalProperties": false
    },`, `}
    },`, 1), fixtureValues, "webhook: an object of known keys must have additionalProperties: false"},
		{"free-form object that says nothing", strings.Replace(fixtureSchema, `, "additionalProperties": {"type": "string"}`, "", 1), fixtureValues, "podLabels: a free-form object must say"},
		{"an object where values.yaml has a scalar", fixtureSchema, strings.Replace(fixtureValues, "webhook:\n  enabled: true\n", "webhook: true\nx:\n  enabled: true\n", 1), "webhook: the schema has an object of known keys"},
	} {
		schema, err := ParseSchema([]byte(tc.schema))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, err = Walk([]byte(tc.values), schema)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}
