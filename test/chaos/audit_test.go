//go:build chaos

package chaos

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

// auditLog reads the writes kube-apiserver records, from where the last read
// stopped (as test/bench does).
type auditLog struct {
	path   string
	offset int64
}

// auditEvent is the part of an audit event the suite reads.
type auditEvent struct {
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

// effectiveWrites returns the writes that changed something: neither
// refused nor dry runs.
func effectiveWrites(events []auditEvent) []auditEvent {
	var out []auditEvent
	for _, e := range events {
		if e.ResponseStatus.Code < 300 && !strings.Contains(e.RequestURI, "dryRun=") {
			out = append(out, e)
		}
	}
	return out
}

// kind is verb resource[/subresource].
func (e auditEvent) kind() string {
	k := e.Verb + " " + e.ObjectRef.Resource
	if e.ObjectRef.Subresource != "" {
		k += "/" + e.ObjectRef.Subresource
	}
	return k
}

// object is resource namespace/name.
func (e auditEvent) object() string {
	return fmt.Sprintf("%s %s/%s", e.ObjectRef.Resource, e.ObjectRef.Namespace, e.ObjectRef.Name)
}

// read returns the writes recorded since the last read or skip.
func (a *auditLog) read() ([]auditEvent, error) {
	f, err := os.Open(a.path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Seek(a.offset, io.SeekStart); err != nil {
		return nil, err
	}
	var events []auditEvent
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			// A line being written stays for the next read.
			break
		}
		if err != nil {
			return nil, err
		}
		a.offset += int64(len(line))
		var e auditEvent
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", a.path, err)
		}
		events = append(events, e)
	}
	return events, nil
}

// skip moves past everything written so far.
func (a *auditLog) skip() error {
	_, err := a.read()
	return err
}

// by returns the events of user.
func by(events []auditEvent, user string) []auditEvent {
	var out []auditEvent
	for _, e := range events {
		if e.User.Username == user {
			out = append(out, e)
		}
	}
	return out
}

// describe words events by verb and resource, the most frequent first.
func describe(events []auditEvent) string {
	if len(events) == 0 {
		return "none"
	}
	byKind := map[string]int{}
	for _, e := range events {
		byKind[e.kind()]++
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
