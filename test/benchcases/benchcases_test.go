package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/internal/cases"
	"github.com/xinfang/petition-operator/internal/objfiles"
	"github.com/xinfang/petition-operator/internal/pii"
	"github.com/xinfang/petition-operator/internal/registry"
)

// TestPetitionsAreTaken: every petition the benchmark makes decodes as a
// public intake, its phone and ID number normalise, and the network
// answers it.
func TestPetitionsAreTaken(t *testing.T) {
	snap, err := objfiles.Load("../../config/samples")
	if err != nil {
		t.Fatal(err)
	}
	net := registry.NewNet(snap)
	day := time.Date(2026, 9, 16, 0, 0, 0, 0, time.UTC)
	gen, err := newPetitions(net, snap.Offices, day, 7)
	if err != nil {
		t.Fatal(err)
	}
	localities, ids := 0, 0
	for range 500 {
		body := gen.next()
		in, err := cases.DecodeIntake(body, false)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if _, err := pii.NormalizePhone(in.Petitioner.Phone); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if in.Petitioner.IDNumber != "" {
			ids++
			if _, err := pii.NormalizeIDNumber(in.Petitioner.IDNumber); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
		}
		if in.Locality != "" {
			localities++
		}
		if _, err := net.Answer(in.Office, in.Locality, in.Petition(), day); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
	}
	if localities == 0 || ids == 0 {
		t.Errorf("500 petitions: %d with a locality, %d with an ID number; want some of each", localities, ids)
	}
}

// TestSmoke runs the benchmark small: 200 intakes, 10,000 open cases, 500
// alarms due together, and checks that it measured each figure.
func TestSmoke(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "registry")
	args := append(append([]string{"build"}, raceFlags...), "-o", bin, "../../cmd/registry")
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("building the registry: %v\n%s", err, out)
	}
	var log bytes.Buffer
	o := options{intakes: 200, warm: 100, clients: 8, rate: 50, paced: time.Second, open: 10_000, due: 500, ticks: 5,
		registry: bin, network: "../../config/samples", workDir: t.TempDir(), seed: 1, log: &log}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	res, err := run(ctx, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if res.open != o.open || res.due != o.due || res.dueEvents < o.due || res.paced.n != 50 {
		t.Errorf("open cases %d, due %d (%d events), paced %d; want %d, %d, at least as many events, 50",
			res.open, res.due, res.dueEvents, res.paced.n, o.open, o.due)
	}
	if res.intakeWall <= 0 || res.tick <= 0 || res.dueFire <= 0 || res.paced.p99 <= 0 || res.bytesPerCase <= 0 || res.bulkBytesPerCase <= 0 {
		t.Errorf("a figure is missing: %+v", res)
	}
	var out bytes.Buffer
	if err := report(&out, res); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "CASES cases=10000 intake_rps=") || !strings.Contains(last, " bytes_per_case=") {
		t.Errorf("the last line is %q; want the CASES line", last)
	}
	t.Logf("%s\n%s", log.String(), out.String())
}
