package registry

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/xinfang/petition-operator/internal/cases"
	"github.com/xinfang/petition-operator/internal/pii"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// Keys seals and opens personal data and keys what identifies a person
// (internal/pii's Keyring).
type Keys interface {
	Seal(plaintext, aad []byte) []byte
	Open(ciphertext, aad []byte) ([]byte, error)
	PersonKey(kind, normalized string) []byte
}

// Store is the case registry on one PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	net  Network
	keys Keys
	now  func() time.Time
}

// Options configure a Store.
type Options struct {
	// Now is the clock (time.Now when nil): every date of a case, every
	// alarm and every statistic counts from it.
	Now func() time.Time
}

// New returns a Store on pool, routing with net and sealing with keys.
func New(pool *pgxpool.Pool, net Network, keys Keys, opts Options) *Store {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{pool: pool, net: net, keys: keys, now: now}
}

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// Network is the network the store routes with now.
func (s *Store) Network() *Net { return s.net.Current() }

// Answer is the answer to an intake: 201 the first time, 200 on a replay.
type Answer struct {
	CaseNo string `json:"caseNo"`
	// QueryCode is shown once, with the case number: the petitioner's key
	// to the progress of the case. None for an anonymous report.
	QueryCode  string                  `json:"queryCode,omitempty"`
	State      cases.State             `json:"state"`
	Handler    string                  `json:"handler"`
	SkipLevel  bool                    `json:"skipLevel"`
	RedirectTo string                  `json:"redirectTo"`
	Deadlines  []xinfang.StageDeadline `json:"deadlines"`
	Warnings   []string                `json:"warnings,omitempty"`
	RepeatOf   string                  `json:"repeatOf,omitempty"`
}

// Submission is an intake with where it comes from.
type Submission struct {
	Intake cases.Intake
	// Key is the Idempotency-Key; Scope separates the keys of the public
	// intake from each desk's and each staff office's.
	Key, Scope string
	// Staff is the office of the staff who register it; empty for a
	// petitioner's own intake.
	Staff string
}

// ConflictError is a reused idempotency key with another body (HTTP 409).
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }

// Take registers a petition: the case, the first stage's deadline and
// alarms, the counters and the event, in one transaction. It returns the
// answer and whether the case is new (false: a replay of the same key and
// body). Nothing is acknowledged before the commit. It takes four round
// trips to the database: the begin with the reads, the case with its key,
// the other writes, the commit.
func (s *Store) Take(ctx context.Context, sub Submission) (Answer, bool, error) {
	in := sub.Intake
	n := s.net.Current()
	now := s.now()
	office := in.Office
	if _, ok := n.Office(office); !ok {
		return Answer{}, false, n.Unknown("office", office)
	}
	loc := n.Location(office)
	received := now.In(loc)
	if sub.Staff != "" && in.ReceivedAt != "" {
		t, err := cases.ParseReceived(in.ReceivedAt, now, loc)
		if err != nil {
			return Answer{}, false, err
		}
		received = t.In(loc)
	}
	day := civilDay(received)
	ans, err := n.Answer(office, in.Locality, in.Petition(), day)
	if err != nil {
		return Answer{}, false, err
	}
	if len(ans.Stages) == 0 {
		return Answer{}, false, fmt.Errorf("office %s: the deadlines answer has no stage", office)
	}
	first := ans.Stages[0]
	firstCfg, err := n.Config(first.Office)
	if err != nil {
		return Answer{}, false, err
	}
	personID, personPhone, err := s.personKeys(in.Petitioner)
	if err != nil {
		return Answer{}, false, err
	}
	fp := in.Fingerprint()

	// One round trip: the transaction begins, with the case number and the
	// first case of the same person and category, of which this one is a
	// repeat.
	var seq int64
	var repeatOf *int64
	var repeatNo string
	reads := &pgx.Batch{}
	reads.BeginTx(pgx.TxOptions{})
	reads.Queue(`SELECT nextval('case_numbers')`).QueryRow(func(r pgx.Row) error { return r.Scan(&seq) })
	if personID != nil || personPhone != nil {
		reads.Queue(`SELECT id, case_no FROM cases
			WHERE ((person_id = $1) OR (person_phone = $2)) AND category = $3 AND merged_into IS NULL
			ORDER BY id LIMIT 1`, personID, personPhone, in.Category).QueryRow(func(r pgx.Row) error {
			var id int64
			err := r.Scan(&id, &repeatNo)
			switch {
			case err == nil:
				repeatOf = &id
			case errors.Is(err, pgx.ErrNoRows):
				return nil
			}
			return err
		})
	}
	br := s.pool.SendBatch(ctx, reads)
	tx := br.Tx()
	defer func() { _ = tx.Rollback(ctx) }()
	if err := br.Close(); err != nil {
		return Answer{}, false, err
	}
	caseNo := cases.FormatCaseNo(day.Year(), seq)
	out := Answer{CaseNo: caseNo, State: cases.Registered, Handler: ans.Handler, SkipLevel: ans.SkipLevel,
		RedirectTo: ans.RedirectTo, Deadlines: ans.Stages}
	if len(ans.Warnings) > 0 {
		out.Warnings = ans.Warnings
	}
	if repeatOf != nil {
		out.RepeatOf = repeatNo
	}
	var queryHash, sealedCode []byte
	if !in.Anonymous() {
		code, err := cases.NewQueryCode()
		if err != nil {
			return Answer{}, false, err
		}
		out.QueryCode = code
		queryHash = s.queryHash(caseNo, code)
		sealedCode = s.keys.Seal([]byte(code), intakeAAD(sub.Scope, sub.Key))
	}
	projection, err := json.Marshal(struct {
		xinfang.DeadlineAnswer
		Revisions map[string]xinfang.Revisions `json:"revisions"`
	}{ans, s.revisions(n, ans)})
	if err != nil {
		return Answer{}, false, err
	}
	aad := func(col string) []byte { return []byte("case:" + caseNo + ":" + col) }
	seal := func(col, v string) []byte {
		if v == "" {
			return nil
		}
		return s.keys.Seal([]byte(v), aad(col))
	}
	var redirect *string
	if ans.RedirectTo != "" {
		redirect = &ans.RedirectTo
	}
	// The case and its key in one statement. A concurrent intake of the
	// same key waits at the key for this transaction, then finds it
	// taken; when this one finds it taken, its case goes with the
	// rollback and the key's own case answers (a replay or a conflict).
	var caseID int64
	err = tx.QueryRow(ctx, `WITH c AS (
			INSERT INTO cases (case_no, query_hash, receiver, office, handler, state, stage, due,
				type, category, channel, locality, skip_level, redirect_to, group_size, confidential,
				received_at, received_on, repeat_of, person_id, person_phone,
				name_enc, phone_enc, id_number_enc, description_enc, projection)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,NULLIF($12,''),$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26)
			RETURNING id)
		INSERT INTO intake_keys (scope, key, fingerprint, case_id, query_code)
		SELECT $27, $28, $29, id, $30 FROM c
		ON CONFLICT DO NOTHING RETURNING case_id`,
		caseNo, queryHash, office, first.Office, ans.Handler, cases.Registered, first.Name, first.Due,
		in.Type, in.Category, in.Channel, in.Locality, ans.SkipLevel, redirect, in.GroupSize, in.Petitioner.Confidential,
		received, day, repeatOf, personID, personPhone,
		seal("name", in.Petitioner.Name), seal("phone", in.Petitioner.Phone), seal("idNumber", in.Petitioner.IDNumber),
		s.keys.Seal([]byte(in.Description), aad("description")), projection,
		sub.Scope, sub.Key, fp[:], sealedCode).Scan(&caseID)
	if errors.Is(err, pgx.ErrNoRows) {
		_ = tx.Rollback(ctx)
		return s.replay(ctx, sub, fp[:])
	}
	if err != nil {
		return Answer{}, false, err
	}

	// The rest returns nothing: one round trip before the commit, which
	// also keeps the counters' rows locked for the least time.
	w := &batch{}
	if err := s.startStage(ctx, w, n, caseID, 1, first, day, firstCfg.Revisions()); err != nil {
		return Answer{}, false, err
	}
	if err := addTimeline(ctx, w, caseID, 1, now, "register", cases.Registered, office, ""); err != nil {
		return Answer{}, false, err
	}
	counts := []counter{{office, day, "received", 1}}
	if ans.SkipLevel {
		counts = append(counts, counter{office, day, "skip_level", 1}, counter{ans.RedirectTo, day, "skip_level_attributed", 1})
	}
	if repeatOf != nil {
		counts = append(counts, counter{office, day, "repeat", 1})
	}
	if cases.Collective(in.GroupSize) {
		counts = append(counts, counter{office, day, "collective", 1})
	}
	if err := count(ctx, w, counts...); err != nil {
		return Answer{}, false, err
	}
	data := map[string]any{"state": cases.Registered, "handler": ans.Handler, "stage": first.Name, "due": first.Due,
		"skipLevel": ans.SkipLevel, "channel": in.Channel, "type": in.Type, "category": in.Category}
	if ans.RedirectTo != "" {
		data["redirectTo"] = ans.RedirectTo
	}
	if repeatOf != nil {
		data["repeatOf"] = repeatNo
	}
	if err := emit(ctx, w, "petition.case.registered", caseNo, office, data); err != nil {
		return Answer{}, false, err
	}
	if err := w.send(ctx, tx); err != nil {
		return Answer{}, false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Answer{}, false, err
	}
	return out, true, nil
}

// replay answers an intake key already taken: the same body gets the same
// answer, built again from the key's case (its intake projection) and the
// query code sealed with the key; another body gets a conflict.
func (s *Store) replay(ctx context.Context, sub Submission, fp []byte) (Answer, bool, error) {
	var got, sealedCode, projection []byte
	var repeatNo *string
	out := Answer{State: cases.Registered}
	err := s.pool.QueryRow(ctx, `SELECT k.fingerprint, k.query_code, c.case_no, c.projection,
			(SELECT case_no FROM cases WHERE id = c.repeat_of)
		FROM intake_keys k JOIN cases c ON c.id = k.case_id WHERE k.scope = $1 AND k.key = $2`, sub.Scope, sub.Key).
		Scan(&got, &sealedCode, &out.CaseNo, &projection, &repeatNo)
	if err != nil {
		return Answer{}, false, err
	}
	if !hmac.Equal(got, fp) {
		return Answer{}, false, &ConflictError{Message: "Idempotency-Key: the key was used for another petition; use a new key for a new petition"}
	}
	if sealedCode != nil {
		code, err := s.keys.Open(sealedCode, intakeAAD(sub.Scope, sub.Key))
		if err != nil {
			return Answer{}, false, err
		}
		out.QueryCode = string(code)
	}
	var ans xinfang.DeadlineAnswer
	if err := json.Unmarshal(projection, &ans); err != nil {
		return Answer{}, false, fmt.Errorf("case %s: its projection: %w", out.CaseNo, err)
	}
	out.Handler, out.SkipLevel, out.RedirectTo, out.Deadlines = ans.Handler, ans.SkipLevel, ans.RedirectTo, ans.Stages
	if len(ans.Warnings) > 0 {
		out.Warnings = ans.Warnings
	}
	if repeatNo != nil {
		out.RepeatOf = *repeatNo
	}
	return out, false, nil
}

func intakeAAD(scope, key string) []byte { return []byte("intake:" + scope + ":" + key) }

// queryHash keys a query code to its case: only the HMAC is stored.
func (s *Store) queryHash(caseNo, code string) []byte {
	return s.keys.PersonKey("query", caseNo+":"+code)
}

// personKeys are the HMACs of the petitioner's normalised ID number and
// phone, for linking repeats; nil when absent.
func (s *Store) personKeys(p cases.Petitioner) (id, phone []byte, err error) {
	if p.IDNumber != "" {
		v, err := pii.NormalizeIDNumber(p.IDNumber)
		if err != nil {
			return nil, nil, &cases.FieldError{Field: "petitioner.idNumber", Message: err.Error()}
		}
		id = s.keys.PersonKey(pii.KindID, v)
	}
	if p.Phone != "" {
		v, err := pii.NormalizePhone(p.Phone)
		if err != nil {
			return nil, nil, &cases.FieldError{Field: "petitioner.phone", Message: err.Error()}
		}
		phone = s.keys.PersonKey(pii.KindPhone, v)
	}
	return id, phone, nil
}

// revisions names the chain revision of each office of an answer's stages.
func (s *Store) revisions(n *Net, ans xinfang.DeadlineAnswer) map[string]xinfang.Revisions {
	out := map[string]xinfang.Revisions{}
	for _, st := range ans.Stages {
		if st.Office == "" {
			continue
		}
		if cfg, err := n.Config(st.Office); err == nil {
			out[st.Office] = cfg.Revisions()
		}
	}
	return out
}

// civilDay is the calendar day of t in its location, as a UTC midnight
// (the network's dates).
func civilDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
