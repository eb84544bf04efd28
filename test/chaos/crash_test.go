package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/internal/testenv"
)

// TestCrashAnywhere kills the manager (SIGKILL) at random moments while a
// network of -chaos.offices offices converges, and starts it again each
// time. In the end every office must be Ready and the cluster must hold
// exactly what the network renders: no duplicate, orphaned or missing
// managed object, and every office's status.inventory right.
func TestCrashAnywhere(t *testing.T) {
	parallelWhenSmall(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	seed := options.seed
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	t.Logf("seed %d (CHAOS_SEED=%d repeats these kill moments); %d offices (CHAOS_OFFICES), %d kills (CHAOS_KILLS)",
		seed, seed, options.offices, options.kills)

	cl := newCluster(t, "crash")
	op := cl.startOperator(ctx, "crash", testenv.ManagerOptions{Args: defaultArgs()})
	w := watchOffices(t, cl.c)
	net := generate(t, options.offices, "")
	if _, err := createAll(ctx, cl.c, policies(net), 1); err != nil {
		t.Fatal(err)
	}
	all := offices(net)
	want := names(all)
	if err := cl.audit.Skip(); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	type createResult struct {
		retries int
		err     error
		took    time.Duration
	}
	created := make(chan createResult, 1)
	go func() {
		retries, err := createAll(ctx, cl.c, all, 4)
		created <- createResult{retries, err, time.Since(start)}
	}()

	// The kills: each at a random moment 1–30 s after the manager is up
	// again (ready and its webhooks called), then a restart after 0–2 s;
	// small, within the first 5 s.
	var kills []string
	within := size().killWithin
	for i := range options.kills {
		delay := within/30 + time.Duration(rng.Int64N(int64(within-within/30)))
		pause := time.Duration(rng.Int64N(int64(2 * time.Second)))
		if err := sleep(ctx, delay); err != nil {
			t.Fatal(err)
		}
		n, _ := w.ready(want)
		if n == len(want) {
			t.Logf("kill %d: not done, every office is already Ready", i+1)
			break
		}
		at := time.Since(start)
		if err := op.kill(); err != nil {
			t.Fatalf("kill %d: %v", i+1, err)
		}
		kills = append(kills, fmt.Sprintf("%ss (%d Ready)", seconds(at), n))
		t.Logf("kill %d at %ss, %d of %d offices Ready; restart after %s", i+1, seconds(at), n, len(want), pause.Round(time.Millisecond))
		if err := sleep(ctx, pause); err != nil {
			t.Fatal(err)
		}
		if err := op.start(ctx); err != nil {
			t.Fatalf("restart %d: %v", i+1, err)
		}
	}

	res := <-created
	if res.err != nil {
		t.Fatal(res.err)
	}
	t.Logf("every office created after %ss (%d creates tried again while the webhooks were away)", seconds(res.took), res.retries)
	last, err := w.waitReady(ctx, t, want, 40*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	converge := last.Sub(start)
	t.Logf("every office Ready %ss after the first was created", seconds(converge))
	if err := op.settle(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	events, err := cl.audit.Read()
	if err != nil {
		t.Fatal(err)
	}
	writes := testenv.By(events, managerUser)

	report, err := checkInventory(ctx, cl.c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("inventory: %s", report.summary())
	t.Logf("operator writes during the run: %d (%s)", len(writes), testenv.DescribeWrites(writes))
	if problems := report.problems(); len(problems) > 0 {
		t.Errorf("%d problems in the inventory:\n%s", len(problems), firstN(problems))
	}
	if report.offices != len(want) {
		t.Errorf("%d offices in the cluster, want %d", report.offices, len(want))
	}
	fmt.Printf("CHAOS crash offices=%d kills=%d seed=%d converge_s=%s objects=%d missing=%d duplicate=%d unexpected=%d orphaned=%d inventory_mismatch=%d operator_writes=%d kill_moments=%q\n",
		len(want), len(kills), seed, seconds(converge), report.objects, len(report.missing), len(report.duplicate),
		len(report.unexpected), len(report.orphaned), len(report.inventory)+len(report.hash), len(writes), strings.Join(kills, ", "))
}
