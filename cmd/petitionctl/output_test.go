package main

import (
	"bytes"
	"encoding/json"
	"testing"
)

// decodeOutput checks that out is one object of petitionctl's apiVersion
// and of kind, and decodes its other fields into v, refusing any field v
// does not declare.
func decodeOutput(t *testing.T, out, kind string, v any) {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &fields); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, out)
	}
	if got := string(fields["apiVersion"]); got != `"`+outputAPIVersion+`"` {
		t.Errorf("apiVersion = %s, want %q", got, outputAPIVersion)
	}
	if got := string(fields["kind"]); got != `"`+kind+`"` {
		t.Errorf("kind = %s, want %q", got, kind)
	}
	delete(fields, "apiVersion")
	delete(fields, "kind")
	rest, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("not the %s of the contract: %v\n%s", kind, err, out)
	}
}
