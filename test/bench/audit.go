package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
)

// auditPolicy records the writes, and nothing else, at the Metadata level.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
`

// auditLog reads the writes kube-apiserver records, from where the last read
// stopped.
type auditLog struct {
	path   string
	offset int64
}

type auditEvent struct {
	Verb string `json:"verb"`
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
}

// writes counts the writes by user since the last call, by
// verb/resource[/subresource]. Writes to resources in ignore (the webhook
// configurations a manager installs for itself when it starts) are left out.
func (a *auditLog) writes(user string, ignore ...string) (total int, byKind map[string]int, err error) {
	f, err := os.Open(a.path)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Seek(a.offset, io.SeekStart); err != nil {
		return 0, nil, err
	}
	byKind = map[string]int{}
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			// A line being written stays for the next read.
			break
		}
		if err != nil {
			return 0, nil, err
		}
		a.offset += int64(len(line))
		var e auditEvent
		if err := json.Unmarshal(line, &e); err != nil {
			return 0, nil, fmt.Errorf("%s: %w", a.path, err)
		}
		if e.User.Username != user || slices.Contains(ignore, e.ObjectRef.Resource) {
			continue
		}
		kind := e.Verb + " " + e.ObjectRef.Resource
		if e.ObjectRef.Subresource != "" {
			kind += "/" + e.ObjectRef.Subresource
		}
		byKind[kind]++
		total++
	}
	return total, byKind, nil
}

// skip moves past everything written so far.
func (a *auditLog) skip() error {
	st, err := os.Stat(a.path)
	if err != nil {
		return err
	}
	a.offset = st.Size()
	return nil
}

// describe words the writes of byKind, the most frequent first.
func describe(byKind map[string]int) string {
	if len(byKind) == 0 {
		return "none"
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
