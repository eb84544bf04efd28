package testenv

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// AuditPolicy records the writes, and nothing else, at the Metadata level:
// the policy of the kube-apiserver audit log that the benchmark and the chaos
// suite count the operator's writes in.
const AuditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
`

// AuditLog reads the events kube-apiserver writes to its JSON audit log at
// Path, each read from where the last one stopped.
type AuditLog struct {
	Path   string
	offset int64
}

// AuditEvent is the part of an audit event the tests read.
type AuditEvent struct {
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	StageTimestamp time.Time `json:"stageTimestamp"`
}

// Kind is verb resource[/subresource].
func (e AuditEvent) Kind() string {
	k := e.Verb + " " + e.ObjectRef.Resource
	if e.ObjectRef.Subresource != "" {
		k += "/" + e.ObjectRef.Subresource
	}
	return k
}

// Object is resource namespace/name.
func (e AuditEvent) Object() string {
	return fmt.Sprintf("%s %s/%s", e.ObjectRef.Resource, e.ObjectRef.Namespace, e.ObjectRef.Name)
}

// Read returns the events recorded since the last Read or Skip.
func (a *AuditLog) Read() ([]AuditEvent, error) {
	var events []AuditEvent
	err := a.lines(func(line []byte) error {
		var e AuditEvent
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("%s: %w", a.Path, err)
		}
		events = append(events, e)
		return nil
	})
	return events, err
}

// Skip moves past every event recorded so far.
func (a *AuditLog) Skip() error {
	return a.lines(func([]byte) error { return nil })
}

// lines calls fn with each whole line after the offset and moves the offset
// past it. A line being written stays for the next call.
func (a *AuditLog) lines(fn func([]byte) error) error {
	f, err := os.Open(a.Path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Seek(a.offset, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		a.offset += int64(len(line))
		if err := fn(line); err != nil {
			return err
		}
	}
}

// By returns the events of user.
func By(events []AuditEvent, user string) []AuditEvent {
	var out []AuditEvent
	for _, e := range events {
		if e.User.Username == user {
			out = append(out, e)
		}
	}
	return out
}

// EffectiveWrites returns the writes that changed something: neither
// refused nor dry runs.
func EffectiveWrites(events []AuditEvent) []AuditEvent {
	var out []AuditEvent
	for _, e := range events {
		if e.ResponseStatus.Code < 300 && !strings.Contains(e.RequestURI, "dryRun=") {
			out = append(out, e)
		}
	}
	return out
}

// DescribeWrites words events by verb and resource, the most frequent
// first: "patch deployments ×3, create events ×1"; "none" for no event.
func DescribeWrites(events []AuditEvent) string {
	if len(events) == 0 {
		return "none"
	}
	byKind := map[string]int{}
	for _, e := range events {
		byKind[e.Kind()]++
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if byKind[kinds[i]] != byKind[kinds[j]] {
			return byKind[kinds[i]] > byKind[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s ×%d", k, byKind[k])
	}
	return strings.Join(parts, ", ")
}
