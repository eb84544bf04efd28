package registry_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cases"
	"github.com/xinfang/petition-operator/internal/pii"
	"github.com/xinfang/petition-operator/internal/registry"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// intake decodes a JSON intake as the public API would, failing the test
// on a refusal.
func intake(t *testing.T, body string) cases.Intake {
	t.Helper()
	return decodeIntake(t, body, false)
}

func decodeIntake(t *testing.T, body string, staff bool) cases.Intake {
	t.Helper()
	in, err := cases.DecodeIntake([]byte(body), staff)
	if err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return in
}

// staffIntake decodes a JSON intake as the staff API would.
func staffIntake(t *testing.T, body string) cases.Intake {
	t.Helper()
	return decodeIntake(t, body, true)
}

const landAppeal = `{"office":"shifosi-town","type":"Appeal","category":"land-acquisition","channel":"Letter",
	"description":"征地补偿款未到位 MARKER-DESC","petitioner":{"name":"张三MARKER","phone":"138 0013 8000","idNumber":"11010519491231002X"}}`

// TestIntakeSnapshotsPetitionctlsAnswer: the deadlines stored for a case
// are petitionctl deadlines' answer for the same question (Transfer at the
// township then Acceptance at the county's natural resources department,
// across 国庆), the same key and body answer again with 200 and the same
// case, another body under the key is refused, and the query code (shown
// once) opens the progress while a wrong one finds nothing.
func TestIntakeSnapshotsPetitionctlsAnswer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := intake(t, landAppeal)
	sub := registry.Submission{Intake: in, Key: "k-1", Scope: "public"}
	ans, created, err := f.store.Take(ctx, sub)
	if err != nil || !created {
		t.Fatalf("take: created=%v err=%v", created, err)
	}
	want, err := f.net.Answer("shifosi-town", "", in.Petition(), time.Date(2026, 9, 16, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ans.Deadlines, want.Stages) || ans.Handler != want.Handler {
		t.Errorf("stored deadlines differ from the projection:\n got %+v\nwant %+v", ans.Deadlines, want.Stages)
	}
	// By hand (docs/escalation.md): Transfer 09-16 + 15d runs into 国庆 →
	// 10-08; Acceptance at the department 10-08 + 15d = 10-23.
	if len(ans.Deadlines) < 2 || ans.Deadlines[0].Name != v1alpha1.StageTransfer || ans.Deadlines[0].Due != "2026-10-08" ||
		ans.Deadlines[1].Office != "zhenping-natural-resources" || ans.Deadlines[1].Due != "2026-10-23" {
		t.Errorf("deadlines = %+v; want Transfer@shifosi-town 2026-10-08, Acceptance@zhenping-natural-resources 2026-10-23", ans.Deadlines)
	}
	if _, _, err := cases.ParseCaseNo(ans.CaseNo); err != nil || !strings.HasPrefix(ans.CaseNo, "2026-") || len(ans.QueryCode) != cases.QueryCodeLen {
		t.Errorf("case number %q, query code %q", ans.CaseNo, ans.QueryCode)
	}

	again, created, err := f.store.Take(ctx, sub)
	if err != nil || created || !reflect.DeepEqual(again, ans) {
		t.Errorf("replay: created=%v err=%v\n got %+v\nwant %+v", created, err, again, ans)
	}
	other := sub
	other.Intake.Category = "wage-arrears"
	var conflict *registry.ConflictError
	if _, _, err := f.store.Take(ctx, other); !errors.As(err, &conflict) {
		t.Errorf("the same key with another body: %v; want a ConflictError", err)
	}
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM cases`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d cases after a replay and a conflict (%v); want 1", n, err)
	}

	p, err := f.store.Progress(ctx, ans.CaseNo, strings.ToLower(ans.QueryCode))
	if err != nil {
		t.Fatal(err)
	}
	if p.State != cases.Registered || p.Office != "shifosi-town" || p.Stage != v1alpha1.StageTransfer || p.Due != "2026-10-08" || len(p.Timeline) != 1 {
		t.Errorf("progress = %+v", p)
	}
	var nf *registry.NotFoundError
	if _, err := f.store.Progress(ctx, ans.CaseNo, "0000000000"); !errors.As(err, &nf) {
		t.Errorf("a wrong query code: %v; want not found", err)
	}
}

// TestConcurrentRetriesMakeOneCase: clients retrying one key at once get
// one case between them, all the same answer.
func TestConcurrentRetriesMakeOneCase(t *testing.T) {
	f := newFixture(t)
	sub := registry.Submission{Intake: intake(t, landAppeal), Key: "same", Scope: "public"}
	const clients = 8
	answers := make(chan registry.Answer, clients)
	errs := make(chan error, clients)
	for range clients {
		go func() {
			a, _, err := f.store.Take(context.Background(), sub)
			answers <- a
			errs <- err
		}()
	}
	var first string
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		a := <-answers
		if first == "" {
			first = a.CaseNo
		}
		if a.CaseNo != first {
			t.Errorf("case %s and case %s for one key", first, a.CaseNo)
		}
	}
	var n int
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM cases`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d cases (%v); want 1", n, err)
	}
}

// TestNoPersonalDataStoredInTheClear: the petitioner's name, phone, ID
// number and description are nowhere in the database as written, nor in
// the feed; the staff read opens them, and is audited.
func TestNoPersonalDataStoredInTheClear(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ans, _, err := f.store.Take(ctx, registry.Submission{Intake: intake(t, landAppeal), Key: "pii", Scope: "public"})
	if err != nil {
		t.Fatal(err)
	}
	markers := []string{"MARKER", "13800138000", "138 0013 8000", "11010519491231002X", "征地补偿款"}
	tables := []string{"cases", "deadlines", "alarms", "timeline", "intake_keys", "events", "audit", "office_days"}
	for _, table := range tables {
		rows, err := f.pool.Query(ctx, `SELECT row_to_json(t)::text FROM `+table+` t`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				t.Fatal(err)
			}
			for _, m := range markers {
				if strings.Contains(row, m) {
					t.Errorf("table %s holds %q in the clear: %.200s", table, m, row)
				}
			}
		}
		rows.Close()
	}
	c, err := f.store.Case(ctx, registry.Actor{Name: "clerk", Office: "shifosi-town"}, ans.CaseNo)
	if err != nil {
		t.Fatal(err)
	}
	if c.Petitioner.Name != "张三MARKER" || c.Petitioner.Phone != "138 0013 8000" || !strings.Contains(c.Description, "MARKER-DESC") {
		t.Errorf("the staff read does not open the personal data: %+v", c.Petitioner)
	}
	var audited int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM audit WHERE personal AND case_no = $1 AND office = 'shifosi-town'`, ans.CaseNo).Scan(&audited); err != nil || audited != 1 {
		t.Errorf("%d audit rows of the personal read (%v); want 1", audited, err)
	}
	var forbidden *registry.ForbiddenError
	if _, err := f.store.Case(ctx, registry.Actor{Name: "other", Office: "neixiang-county"}, ans.CaseNo); !errors.As(err, &forbidden) {
		t.Errorf("another county's read: %v; want forbidden", err)
	}
}

// TestRepeatsLinkedByPerson: the same person (phone written otherwise)
// with the same matter is linked to the first case, and a replay of its
// key answers the link again; another matter is not linked.
func TestRepeatsLinkedByPerson(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, _, err := f.store.Take(ctx, registry.Submission{Intake: intake(t, landAppeal), Key: "a", Scope: "public"})
	if err != nil {
		t.Fatal(err)
	}
	again := intake(t, strings.Replace(landAppeal, "138 0013 8000", "+86-138-0013-8000", 1))
	again.Petitioner.IDNumber = ""
	second, _, err := f.store.Take(ctx, registry.Submission{Intake: again, Key: "b", Scope: "public"})
	if err != nil {
		t.Fatal(err)
	}
	if second.RepeatOf != first.CaseNo {
		t.Errorf("repeatOf = %q; want %s", second.RepeatOf, first.CaseNo)
	}
	// A replay answers what the intake answered, repeatOf included.
	replayed, created, err := f.store.Take(ctx, registry.Submission{Intake: again, Key: "b", Scope: "public"})
	if err != nil || created || !reflect.DeepEqual(replayed, second) {
		t.Errorf("replay of a repeat: created=%v err=%v\n got %+v\nwant %+v", created, err, replayed, second)
	}
	other := again
	other.Category = "wage-arrears"
	third, _, err := f.store.Take(ctx, registry.Submission{Intake: other, Key: "c", Scope: "public"})
	if err != nil {
		t.Fatal(err)
	}
	if third.RepeatOf != "" {
		t.Errorf("another matter linked as a repeat of %s", third.RepeatOf)
	}
	day := time.Date(2026, 9, 16, 0, 0, 0, 0, time.UTC)
	st, err := f.store.Stats(ctx, "shifosi-town", "self", []string{"shifosi-town"}, day, day, day)
	if err != nil {
		t.Fatal(err)
	}
	if st.Received != 3 || st.Repeat != 1 {
		t.Errorf("stats: received %d, repeat %d; want 3, 1", st.Received, st.Repeat)
	}
}

// TestAnonymousReportReplays: an anonymous report gets no query code,
// and its key answers the same again.
func TestAnonymousReportReplays(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sub := registry.Submission{Intake: intake(t, `{"office":"tuandong-town","type":"Report","category":"official-misconduct",
		"channel":"Online","description":"匿名举报","petitioner":{"anonymous":true}}`), Key: "anon", Scope: "public"}
	ans, created, err := f.store.Take(ctx, sub)
	if err != nil || !created || ans.QueryCode != "" {
		t.Fatalf("take: created=%v err=%v query code %q", created, err, ans.QueryCode)
	}
	again, created, err := f.store.Take(ctx, sub)
	if err != nil || created || !reflect.DeepEqual(again, ans) {
		t.Errorf("replay: created=%v err=%v\n got %+v\nwant %+v", created, err, again, ans)
	}
}

// TestStaffRegistersALetterOnItsDay: a letter registered by staff two
// days after it arrived counts its deadlines from the day it arrived, and
// the keys of an office's staff are not the public intake's.
func TestStaffRegistersALetterOnItsDay(t *testing.T) {
	f := newFixtureAt(t, "2026-03-12T10:00:00+08:00")
	ctx := context.Background()
	letter := staffIntake(t, `{"office":"shifosi-town","type":"Appeal","category":"wage-arrears","channel":"Letter",
		"receivedAt":"2026-03-10","description":"拖欠工资","petitioner":{"name":"李四","phone":"13900139000"}}`)
	ans, created, err := f.store.Take(ctx, registry.Submission{Intake: letter, Key: "k", Scope: "staff:shifosi-town", Staff: "shifosi-town"})
	if err != nil || !created {
		t.Fatalf("take: created=%v err=%v", created, err)
	}
	want, err := f.net.Answer("shifosi-town", "", letter.Petition(), time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	registered, err := f.net.Answer("shifosi-town", "", letter.Petition(), time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(registered.Stages, want.Stages) {
		t.Fatalf("the deadlines from 03-10 and from 03-12 are the same: %+v", want.Stages)
	}
	if !reflect.DeepEqual(ans.Deadlines, want.Stages) {
		t.Errorf("deadlines from the day it was registered, not the day it arrived:\n got %+v\nwant %+v", ans.Deadlines, want.Stages)
	}
	public := intake(t, `{"office":"shifosi-town","type":"Appeal","category":"wage-arrears",
		"description":"拖欠工资","petitioner":{"name":"李四","phone":"13900139000"}}`)
	other, created, err := f.store.Take(ctx, registry.Submission{Intake: public, Key: "k", Scope: "public"})
	if err != nil || !created || other.CaseNo == ans.CaseNo {
		t.Errorf("the same key in the public intake: created=%v err=%v case %s (staff's %s); want a case of its own", created, err, other.CaseNo, ans.CaseNo)
	}
}

// TestIntakeRefusals: a locality that is a Department, an unknown office
// and a village office are refused naming the field; nothing is stored.
func TestIntakeRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct{ body, field string }{
		{`{"office":"nanyang-city","type":"Appeal","category":"land-acquisition","locality":"zhenping-natural-resources","description":"x","petitioner":{"name":"a","phone":"13800138000"}}`, "locality"},
		{`{"office":"no-such-town","type":"Appeal","category":"land-acquisition","description":"x","petitioner":{"name":"a","phone":"13800138000"}}`, "office"},
		{`{"office":"hezhuang-village","type":"Appeal","category":"land-acquisition","description":"x","petitioner":{"name":"a","phone":"13800138000"}}`, "office"},
		{`{"office":"shifosi-town","type":"Appeal","category":"land-acquisition","description":"x","petitioner":{"name":"a","phone":"12345"}}`, "petitioner.phone"},
	} {
		_, _, err := f.store.Take(ctx, registry.Submission{Intake: intake(t, tc.body), Key: tc.field + tc.body[:20], Scope: "public"})
		var fe *cases.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: %v; want a refusal of field %s", tc.body, err, tc.field)
		}
	}
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM cases`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d cases stored by refusals (%v)", n, err)
	}
	_ = xinfang.Quote
}

// TestKeyRotation: after a new data key is put first, values sealed under
// the old one still open; Rewrap seals them again under the new one (a
// second run finds none), after which a key file without the old key
// opens every case and replays every intake.
func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sub := registry.Submission{Intake: intake(t, landAppeal), Key: "rot", Scope: "public"}
	ans, _, err := f.store.Take(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := pii.Rotate(f.keyFile, "k2")
	if err != nil {
		t.Fatal(err)
	}
	withBoth, err := pii.Parse(bytes.NewReader(rotated))
	if err != nil {
		t.Fatal(err)
	}
	clerk := registry.Actor{Name: "clerk", Office: "shifosi-town"}
	both := registry.New(f.pool, registry.Static{Net: f.net}, withBoth, registry.Options{Now: f.clock.now})
	if c, err := both.Case(ctx, clerk, ans.CaseNo); err != nil || c.Petitioner.Name != "张三MARKER" {
		t.Fatalf("the old key's values under the rotated file: %v", err)
	}
	n, err := both.Rewrap(ctx, withBoth, 2)
	if err != nil || n != 5 {
		t.Errorf("rewrapped %d values (%v); want the 4 sealed columns and the intake answer", n, err)
	}
	if n, err := both.Rewrap(ctx, withBoth, 2); err != nil || n != 0 {
		t.Errorf("a second rewrap did %d (%v); want none", n, err)
	}
	var lines []string
	for _, l := range strings.Split(string(rotated), "\n") {
		if !strings.HasPrefix(l, "data k1 ") {
			lines = append(lines, l)
		}
	}
	onlyNew, err := pii.Parse(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	after := registry.New(f.pool, registry.Static{Net: f.net}, onlyNew, registry.Options{Now: f.clock.now})
	if c, err := after.Case(ctx, clerk, ans.CaseNo); err != nil || c.Petitioner.Phone != "138 0013 8000" {
		t.Errorf("a case under the new key alone: %v", err)
	}
	if again, created, err := after.Take(ctx, sub); err != nil || created || again.QueryCode != ans.QueryCode {
		t.Errorf("a replay under the new key alone: created=%v err=%v", created, err)
	}
}
