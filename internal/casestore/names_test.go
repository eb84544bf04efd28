package casestore

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestNamesAreLabelsForTheLongestCity(t *testing.T) {
	city := strings.Repeat("c", 56)
	for _, n := range []string{RegistryName(city), DatabaseName(city) + "-rw", DatabaseName(city) + "-app"} {
		if errs := validation.IsDNS1035Label(n); len(errs) > 0 {
			t.Errorf("%s: %v", n, errs)
		}
	}
	if got, want := RegistryURL("nanyang-city", "petition-system"), "http://cases-nanyang-city.petition-system.svc:8080"; got != want {
		t.Errorf("RegistryURL = %s, want %s", got, want)
	}
}
