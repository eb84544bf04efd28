package main

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func cm(ns, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func TestMeetingCountsKeysOnce(t *testing.T) {
	m := newMeeting(byNamespace)
	m.set(cm("a", "old"), true)
	m.set(cm("a", "new"), true)
	m.set(cm("b", "x"), false)
	if got := m.keys(); got != 1 {
		t.Fatalf("keys = %d, want 1", got)
	}
	m.set(cm("a", "old"), false)
	if got := m.keys(); got != 1 {
		t.Fatalf("after one of two left: keys = %d, want 1", got)
	}
	m.set(cm("a", "new"), false)
	m.set(cm("b", "x"), true)
	m.set(cm("b", "x"), true)
	if got := m.keys(); got != 1 {
		t.Fatalf("keys = %d, want 1", got)
	}
}
