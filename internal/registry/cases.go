package registry

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cases"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// Actor is who calls with a token: an office's staff or its desk, by the
// name their token carries, or the operator.
type Actor struct {
	Name   string
	Office string
	Role   Role
}

// Role is what a token may do.
type Role string

const (
	// RoleStaff is an office's staff: the staff API, on the cases at the
	// office or below it.
	RoleStaff Role = "staff"
	// RoleDesk is an office's desk (the ServiceAccount desk of its tenant
	// namespace): it files petitions received at the office, and queries
	// them as their petitioners may.
	RoleDesk Role = "desk"
	// RoleOperator is the operator: it reads the network's figures and
	// nothing else; it has no office.
	RoleOperator Role = "operator"
)

// DeskServiceAccount is the name of a desk's ServiceAccount in its
// office's tenant namespace: its tokens are the desk's, not the staff's.
const DeskServiceAccount = "desk"

// NotFoundError is a case that does not exist, or that the caller may not
// know of (HTTP 404).
type NotFoundError struct{ CaseNo string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("case %s not found", xinfang.Quote(e.CaseNo))
}

// ForbiddenError is a case of another office (HTTP 403).
type ForbiddenError struct{ Office, CaseNo, Responsible string }

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("office %s may not act on case %s: it is at office %s, neither %s nor below it", e.Office, e.CaseNo, e.Responsible, e.Office)
}

// StaleError is an If-Match that is not the case's version (HTTP 412).
type StaleError struct {
	CaseNo        string
	Want, Current int
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("case %s is at version %d, not %d: read it again and retry", e.CaseNo, e.Current, e.Want)
}

// Deadline is a stage's deadline as it was computed when the stage started.
type Deadline struct {
	Stage            v1alpha1.StageName `json:"stage"`
	Office           string             `json:"office"`
	Started          string             `json:"started"`
	Due              string             `json:"due"`
	DueWithExtension string             `json:"dueWithExtension,omitempty"`
	ExtendedDays     int                `json:"extendedDays,omitempty"`
	Revision         string             `json:"revision"`
	CalendarRevision string             `json:"calendarRevision"`
	Ended            *time.Time         `json:"ended,omitempty"`
	OnTime           *bool              `json:"onTime,omitempty"`
}

// Step is a step of a case's public timeline.
type Step struct {
	At     time.Time   `json:"at"`
	Action string      `json:"action"`
	State  cases.State `json:"state"`
	Label  string      `json:"label"`
	Office string      `json:"office"`
	Note   string      `json:"note,omitempty"`
}

// Progress is what the petitioner sees of a case with its query code: no
// personal data, no internal note.
type Progress struct {
	CaseNo    string             `json:"caseNo"`
	State     cases.State        `json:"state"`
	Label     string             `json:"label"`
	Stage     v1alpha1.StageName `json:"stage,omitempty"`
	Office    string             `json:"office"`
	Due       string             `json:"due,omitempty"`
	Received  string             `json:"received"`
	Deadlines []Deadline         `json:"deadlines"`
	Timeline  []Step             `json:"timeline"`
}

// Case is the whole case as staff see it, personal data included (each
// read is audited).
type Case struct {
	Progress
	Version     int                     `json:"version"`
	Receiver    string                  `json:"receiver"`
	Handler     string                  `json:"handler"`
	Type        string                  `json:"type"`
	Category    string                  `json:"category"`
	Channel     string                  `json:"channel"`
	Locality    string                  `json:"locality,omitempty"`
	SkipLevel   bool                    `json:"skipLevel"`
	RedirectTo  string                  `json:"redirectTo,omitempty"`
	GroupSize   int                     `json:"groupSize"`
	RepeatOf    string                  `json:"repeatOf,omitempty"`
	MergedInto  string                  `json:"mergedInto,omitempty"`
	Extended    bool                    `json:"extended"`
	Petitioner  cases.Petitioner        `json:"petitioner"`
	Description string                  `json:"description"`
	Projection  []xinfang.StageDeadline `json:"projection"`
}

// row is a case as the transitions read it.
type row struct {
	id                                int64
	caseNo, receiver, office, handler string
	returnTo                          *string
	state                             cases.State
	stage                             *string
	due                               *time.Time
	typ, category, channel            string
	extended                          bool
	version                           int
	receivedOn                        time.Time
}

const rowColumns = `id, case_no, receiver, office, handler, return_to, state, stage, due, type, category, channel, extended, version, received_on`

func scanRow(r pgx.Row) (row, error) {
	var c row
	var state string
	err := r.Scan(&c.id, &c.caseNo, &c.receiver, &c.office, &c.handler, &c.returnTo, &state, &c.stage, &c.due,
		&c.typ, &c.category, &c.channel, &c.extended, &c.version, &c.receivedOn)
	c.state = cases.State(state)
	return c, err
}

// Progress answers the petitioner's query: the case number and the query
// code shown at intake. A wrong code and an unknown number are both not
// found.
func (s *Store) Progress(ctx context.Context, caseNo, code string) (Progress, error) {
	id, err := s.opened(ctx, caseNo, code)
	if err != nil {
		return Progress{}, err
	}
	return s.progress(ctx, s.pool, id)
}

// opened returns the id of the case the case number and its query code
// open; a wrong code and an unknown number are both not found.
func (s *Store) opened(ctx context.Context, caseNo, code string) (int64, error) {
	code, ok := cases.NormalizeQueryCode(code)
	if _, _, err := cases.ParseCaseNo(caseNo); err != nil || !ok {
		return 0, &NotFoundError{CaseNo: caseNo}
	}
	var id int64
	var hash []byte
	err := s.pool.QueryRow(ctx, `SELECT id, query_hash FROM cases WHERE case_no = $1`, caseNo).Scan(&id, &hash)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (hash == nil || !hmac.Equal(hash, s.queryHash(caseNo, code)))) {
		return 0, &NotFoundError{CaseNo: caseNo}
	}
	return id, err
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *Store) progress(ctx context.Context, q querier, id int64) (Progress, error) {
	var p Progress
	var state string
	var stage *string
	var due *time.Time
	var received time.Time
	if err := q.QueryRow(ctx, `SELECT case_no, state, stage, office, due, received_on FROM cases WHERE id = $1`, id).
		Scan(&p.CaseNo, &state, &stage, &p.Office, &due, &received); err != nil {
		return Progress{}, err
	}
	p.State, p.Label, p.Received = cases.State(state), cases.State(state).Label(), received.Format(time.DateOnly)
	if stage != nil {
		p.Stage = v1alpha1.StageName(*stage)
	}
	if due != nil {
		p.Due = due.Format(time.DateOnly)
	}
	rows, err := q.Query(ctx, `SELECT stage, office, started_on, due, due_with_extension, extended_days, revision, calendar_revision, ended_at, on_time
		FROM deadlines WHERE case_id = $1 ORDER BY seq`, id)
	if err != nil {
		return Progress{}, err
	}
	p.Deadlines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Deadline, error) {
		var d Deadline
		var started, due time.Time
		var ext *time.Time
		err := r.Scan(&d.Stage, &d.Office, &started, &due, &ext, &d.ExtendedDays, &d.Revision, &d.CalendarRevision, &d.Ended, &d.OnTime)
		d.Started, d.Due = started.Format(time.DateOnly), due.Format(time.DateOnly)
		if ext != nil {
			d.DueWithExtension = ext.Format(time.DateOnly)
		}
		return d, err
	})
	if err != nil {
		return Progress{}, err
	}
	rows, err = q.Query(ctx, `SELECT at, action, state, office, coalesce(note, '') FROM timeline WHERE case_id = $1 ORDER BY seq`, id)
	if err != nil {
		return Progress{}, err
	}
	p.Timeline, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Step, error) {
		var st Step
		err := r.Scan(&st.At, &st.Action, &st.State, &st.Office, &st.Note)
		st.Label = st.State.Label()
		return st, err
	})
	return p, err
}

// Case reads a whole case for an office's staff, personal data decrypted:
// the read is audited before the data leaves.
func (s *Store) Case(ctx context.Context, actor Actor, caseNo string) (Case, error) {
	r, err := scanRow(s.pool.QueryRow(ctx, `SELECT `+rowColumns+` FROM cases WHERE case_no = $1`, caseNo))
	if errors.Is(err, pgx.ErrNoRows) {
		return Case{}, &NotFoundError{CaseNo: caseNo}
	}
	if err != nil {
		return Case{}, err
	}
	if err := s.authorize(actor, r); err != nil {
		return Case{}, err
	}
	if err := s.Audit(ctx, actor, "read", caseNo, true, 200); err != nil {
		return Case{}, err
	}
	p, err := s.progress(ctx, s.pool, r.id)
	if err != nil {
		return Case{}, err
	}
	c := Case{Progress: p, Version: r.version, Receiver: r.receiver, Handler: r.handler, Type: r.typ, Category: r.category,
		Channel: r.channel, Extended: r.extended}
	var locality, redirect, repeatOf, mergedInto *string
	var name, phone, idNumber, description []byte
	var projection struct {
		Stages []xinfang.StageDeadline `json:"stages"`
	}
	err = s.pool.QueryRow(ctx, `SELECT c.locality, c.skip_level, c.redirect_to, c.group_size, c.confidential,
			(SELECT case_no FROM cases WHERE id = c.repeat_of), (SELECT case_no FROM cases WHERE id = c.merged_into),
			c.name_enc, c.phone_enc, c.id_number_enc, c.description_enc, c.projection
		FROM cases c WHERE c.id = $1`, r.id).Scan(&locality, &c.SkipLevel, &redirect, &c.GroupSize, &c.Petitioner.Confidential,
		&repeatOf, &mergedInto, &name, &phone, &idNumber, &description, &projection)
	if err != nil {
		return Case{}, err
	}
	c.Locality, c.RedirectTo, c.RepeatOf, c.MergedInto = deref(locality), deref(redirect), deref(repeatOf), deref(mergedInto)
	c.Projection = projection.Stages
	open := func(col string, v []byte) (string, error) {
		if v == nil {
			return "", nil
		}
		plain, err := s.keys.Open(v, []byte("case:"+caseNo+":"+col))
		return string(plain), err
	}
	for _, f := range []struct {
		col string
		v   []byte
		to  *string
	}{{"name", name, &c.Petitioner.Name}, {"phone", phone, &c.Petitioner.Phone}, {"idNumber", idNumber, &c.Petitioner.IDNumber}, {"description", description, &c.Description}} {
		if *f.to, err = open(f.col, f.v); err != nil {
			return Case{}, fmt.Errorf("case %s: opening %s: %w", caseNo, f.col, err)
		}
	}
	c.Petitioner.Anonymous = c.Petitioner.Name == "" && c.Petitioner.Phone == "" && c.Petitioner.IDNumber == ""
	return c, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// authorize lets an office act on the cases at it or below it: the office
// responsible now, or the office that received it.
func (s *Store) authorize(actor Actor, r row) error {
	n := s.net.Current()
	if n.Within(r.office, actor.Office) || n.Within(r.receiver, actor.Office) {
		return nil
	}
	return &ForbiddenError{Office: actor.Office, CaseNo: r.caseNo, Responsible: r.office}
}

// Audit records a staff call: who, which office, what, on which case,
// whether personal data was read, and the answer's status.
func (s *Store) Audit(ctx context.Context, actor Actor, action, caseNo string, personal bool, status int) error {
	var c any
	if caseNo != "" {
		c = caseNo
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO audit (actor, office, action, case_no, personal, status) VALUES ($1, $2, $3, $4, $5, $6)`,
		actor.Name, actor.Office, action, c, personal, status)
	return err
}

// ParseVersion reads an If-Match header: the version, with or without the
// quotes of an ETag.
func ParseVersion(s string) (int, error) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || len(s) > 10 {
		return 0, &cases.FieldError{Field: "If-Match", Message: "want the case's version, as its ETag gives it"}
	}
	return v, nil
}
