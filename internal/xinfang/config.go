package xinfang

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// ConfigFormat versions the compiled office configuration, the contract
// between the operator and tenant services (docs/office-config.md).
const ConfigFormat = "petition.xinfang.io/office-config/v1"

// OfficeConfig is the compiled configuration of one office, served by its
// tenant service.
type OfficeConfig struct {
	// Format is ConfigFormat.
	Format string `json:"format"`
	// Office is the office's name.
	Office string `json:"office"`
	// DisplayName is the office's human name.
	DisplayName string `json:"displayName,omitempty"`
	// Level is City, County, Township or Department.
	Level v1alpha1.Level `json:"level"`
	// Department is the department code of a Department office.
	Department v1alpha1.DepartmentCode `json:"department,omitempty"`
	// DivisionCode is the GB/T 2260 code.
	DivisionCode string `json:"divisionCode,omitempty"`
	// Parent is the parent office; empty for the City.
	Parent string `json:"parent,omitempty"`
	// Path lists the offices from the City down to this one.
	Path []string `json:"path"`
	// TimeZone is the IANA zone of windows and deadlines.
	TimeZone string `json:"timeZone"`
	// CalendarRef names the holiday calendar.
	CalendarRef string `json:"calendarRef,omitempty"`
	// ReceptionWindows are the office's windows as declared.
	ReceptionWindows []CompiledWindow `json:"receptionWindows"`
	// Escalation is the office's resolved chain: the handler office and
	// limits of each stage, reminders and supervisor.
	Escalation *Escalation `json:"escalation,omitempty"`
	// Calendar holds the public holidays and adjusted working days of
	// CalendarRef, for working-day deadlines and windows.
	Calendar *CompiledCalendar `json:"calendar,omitempty"`
	// Routing is the office's routing table, its targets resolved to
	// offices and their desk addresses.
	Routing *RoutingTable `json:"routing,omitempty"`
	// Handlers are the chains of the other offices the routing table routes
	// to, by name: the stages after Acceptance of a petition they handle,
	// under their own policies. Empty when every route stays with the
	// office.
	Handlers map[string]*HandlerChain `json:"handlers,omitempty"`
	// Duty holds the DutyPeriods that select the office: their windows,
	// staffing and daily reports. Absent when none does.
	Duty *DutyConfig `json:"duty,omitempty"`
	// Villages are the Village offices under a Township, by name, sorted:
	// its desk serves them, and a matter that arose in one routes as if it
	// arose at the township. Only their names: nothing else of a village
	// changes the township's configuration.
	Villages []string `json:"villages,omitempty"`
	// JointReception lists the departments stationed at the office's joint
	// reception centre (联合接访中心) with their windows; absent when the
	// office is none.
	JointReception *JointReception `json:"jointReception,omitempty"`
}

// JointReception is the compiled spec.jointReception of a City or County:
// the departments stationed at its centre, in the order declared.
type JointReception struct {
	Stationed []StationedDepartment `json:"stationed"`
}

// StationedDepartment is a Department office stationed at a joint
// reception centre, with the windows it receives in.
type StationedDepartment struct {
	Office      string                  `json:"office"`
	DisplayName string                  `json:"displayName,omitempty"`
	Department  v1alpha1.DepartmentCode `json:"department"`
	// Parent is the City or County the department belongs to.
	Parent           string           `json:"parent"`
	ReceptionWindows []CompiledWindow `json:"receptionWindows"`
}

// Stationed reports whether office is one of the departments stationed at
// the office's joint reception centre: a Visit received there that it
// handles is accepted on the spot (no Transfer stage) and is never a
// skip-level visit for it.
func (c *OfficeConfig) Stationed(office string) bool {
	if c.JointReception == nil || office == "" {
		return false
	}
	for _, s := range c.JointReception.Stationed {
		if s.Office == office {
			return true
		}
	}
	return false
}

// HandlerChain is the chain of an office a petition is routed to, every
// stage; Warning says why it is not the chain the office declares (its
// policy missing or unusable: the statutory policy then applies).
type HandlerChain struct {
	Escalation
	Warning string `json:"warning,omitempty"`
}

// CompiledCalendar is a holiday calendar as the tenant receives it.
type CompiledCalendar struct {
	Holidays []v1alpha1.Holiday `json:"holidays,omitempty"`
	Workdays []v1alpha1.Date    `json:"workdays,omitempty"`
	// Covers is the calendar's spec.covers: with the years of its dates,
	// the years it covers (Calendar.Covers).
	Covers *v1alpha1.CoverageRange `json:"covers,omitempty"`
}

// Deadlines projects the stages of a petition the office receives, from
// the compiled configuration alone: the operator's status, petitionctl and
// the desk service all answer through it.
func (c *OfficeConfig) Deadlines(q DeadlineQuery) (DeadlineAnswer, error) {
	cal, err := c.calendar()
	if err != nil {
		return DeadlineAnswer{}, err
	}
	return c.deadlines(cal, q)
}

// calendar builds the office's holiday calendar; nil when it names none.
func (c *OfficeConfig) calendar() (*Calendar, error) {
	if c.Calendar == nil {
		return nil, nil
	}
	return NewCalendar(&v1alpha1.HolidayCalendarSpec{Holidays: c.Calendar.Holidays, Workdays: c.Calendar.Workdays, Covers: c.Calendar.Covers})
}

// CompiledWindow is a reception window with its defaults resolved.
type CompiledWindow struct {
	Name             string               `json:"name"`
	Kind             v1alpha1.WindowKind  `json:"kind"`
	Channels         []v1alpha1.Channel   `json:"channels"`
	Always           bool                 `json:"always,omitempty"`
	Weekdays         []string             `json:"weekdays,omitempty"`
	Times            []v1alpha1.TimeRange `json:"times,omitempty"`
	DaysOfMonth      []string             `json:"daysOfMonth,omitempty"`
	DateRanges       []v1alpha1.DateRange `json:"dateRanges,omitempty"`
	ClosedOnHolidays bool                 `json:"closedOnHolidays"`
}

// assemble builds the configuration of office at path (from Path), with its
// resolved escalation chain, its calendar (nil when it names none) and its
// routing table. Compile is its one caller.
func assemble(office *v1alpha1.Office, path []string, esc *Escalation, cal *v1alpha1.HolidayCalendarSpec, routing *RoutingTable) OfficeConfig {
	tz := office.Spec.TimeZone
	if tz == "" {
		tz = v1alpha1.DefaultTimeZone
	}
	windows := CompileWindows(office)
	return OfficeConfig{
		Format: ConfigFormat, Office: office.Name, DisplayName: office.Spec.DisplayName,
		Level: office.Spec.Level, Department: office.Spec.Department, DivisionCode: office.Spec.DivisionCode,
		Parent: string(office.Spec.Parent), Path: path, TimeZone: tz, CalendarRef: string(office.Spec.CalendarRef),
		ReceptionWindows: windows, Escalation: esc, Calendar: compileCalendar(cal), Routing: routing,
	}
}

// CompileWindows returns the office's reception windows with their defaults
// (kind Regular; closedOnHolidays by kind) made explicit.
func CompileWindows(office *v1alpha1.Office) []CompiledWindow {
	windows := make([]CompiledWindow, 0, len(office.Spec.ReceptionWindows))
	for i := range office.Spec.ReceptionWindows {
		w := &office.Spec.ReceptionWindows[i]
		kind := w.Kind
		if kind == "" {
			kind = v1alpha1.WindowRegular
		}
		windows = append(windows, CompiledWindow{
			Name: w.Name, Kind: kind, Channels: w.Channels, Always: w.Always, Weekdays: w.Weekdays,
			Times: w.Times, DaysOfMonth: w.DaysOfMonth, DateRanges: w.DateRanges,
			ClosedOnHolidays: w.IsClosedOnHolidays(),
		})
	}
	return windows
}

func compileCalendar(spec *v1alpha1.HolidayCalendarSpec) *CompiledCalendar {
	if spec == nil {
		return nil
	}
	return &CompiledCalendar{Holidays: spec.Holidays, Workdays: spec.Workdays, Covers: spec.Covers}
}

// Hash returns the first 16 hex digits of the SHA-256 of v's JSON.
func Hash(v any) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8]), nil
}

// Marshal returns the configuration as indented JSON and its hash: the first
// 16 hex digits of its SHA-256.
func (c OfficeConfig) Marshal() ([]byte, string, error) {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:8]), nil
}

// Route answers where a petition the office receives goes when it arose
// there (see RoutingTable.Route, and RouteWith for another locality); an
// office without rules keeps every petition.
func (c *OfficeConfig) Route(p Petition) (Route, error) {
	return c.RouteWith(p, nil)
}

// WindowAnswer is whether a channel is open at an instant (the CLI
// contract's windows answer).
type WindowAnswer struct {
	Open bool `json:"open"`
	// Window is the window that is open, or empty.
	Window string `json:"window"`
	// NextOpening is the next instant the channel opens, RFC 3339 with the
	// office's offset, or empty when it does not open within 400 days.
	NextOpening string `json:"nextOpening"`
}

// Windows answers whether the channel is open at the instant, in the
// office's time zone and calendar, and when it next opens.
func (c *OfficeConfig) Windows(channel v1alpha1.Channel, at time.Time) (WindowAnswer, error) {
	if err := checkChannel(channel); err != nil {
		return WindowAnswer{}, err
	}
	answers, err := c.Prepare()
	if err != nil {
		return WindowAnswer{}, err
	}
	ans, _, err := answers.Windows(channel, at, SearchLimit{Days: NextOpeningDays})
	return ans, err
}

func checkChannel(channel v1alpha1.Channel) error {
	if !knownChannels[channel] {
		return fmt.Errorf("channel: %s is not one of Visit, Letter, Phone, Online", Quote(string(channel)))
	}
	return nil
}

// Answers is an office's configuration ready to answer many questions: its
// calendar and its window set built once, as a service that serves the
// configuration keeps them until it changes.
type Answers struct {
	config   *OfficeConfig
	calendar *Calendar
	windows  *WindowSet
	// stationed are the window sets of the departments stationed at the
	// office's joint reception centre, in its order.
	stationed []*WindowSet
}

// Prepare builds the office's calendar and window set; an error names the
// field at fault. The configuration must not change while the answers are
// in use.
func (c *OfficeConfig) Prepare() (*Answers, error) {
	cal, err := c.calendar()
	if err != nil {
		return nil, err
	}
	ws, err := NewWindowSet(c.TimeZone, c.ReceptionWindows, cal)
	if err != nil {
		return nil, err
	}
	if err := ws.withDuty(c.Duty); err != nil {
		return nil, err
	}
	a := &Answers{config: c, calendar: cal, windows: ws}
	if c.JointReception != nil {
		// Their windows at the centre's hall: its time zone and calendar.
		for i, s := range c.JointReception.Stationed {
			sws, err := NewWindowSet(c.TimeZone, s.ReceptionWindows, cal)
			if err != nil {
				return nil, fmt.Errorf("jointReception.stationed[%d] (%s): %w", i, s.Office, err)
			}
			a.stationed = append(a.stationed, sws)
		}
	}
	return a, nil
}

// StationedWindow is whether a department stationed at a joint reception
// centre receives on a channel at an instant, and when it next does.
type StationedWindow struct {
	Office      string                  `json:"office"`
	Department  v1alpha1.DepartmentCode `json:"department"`
	DisplayName string                  `json:"displayName,omitempty"`
	WindowAnswer
}

// StationedWindows answers Windows for each department stationed at the
// office's joint reception centre, in its order, with its windows in the
// office's time zone and calendar; nil when the office is no joint
// reception centre. limit bounds each search; the stats add up.
func (a *Answers) StationedWindows(channel v1alpha1.Channel, at time.Time, limit SearchLimit) ([]StationedWindow, SearchStats, error) {
	if a.config.JointReception == nil {
		return nil, SearchStats{}, nil
	}
	if err := checkChannel(channel); err != nil {
		return nil, SearchStats{}, err
	}
	var total SearchStats
	out := make([]StationedWindow, 0, len(a.stationed))
	for i, ws := range a.stationed {
		s := a.config.JointReception.Stationed[i]
		ans, stats, err := ws.answer(channel, at, limit)
		total.Days, total.Steps = total.Days+stats.Days, total.Steps+stats.Steps
		if err != nil {
			total.Exhausted = stats.Exhausted
			return nil, total, fmt.Errorf("jointReception.stationed[%d] (%s): %w", i, s.Office, err)
		}
		out = append(out, StationedWindow{Office: s.Office, Department: s.Department, DisplayName: s.DisplayName, WindowAnswer: ans})
	}
	return out, total, nil
}

// Config returns the configuration the answers come from.
func (a *Answers) Config() *OfficeConfig { return a.config }

// ErrSearchExhausted says a search for the next opening stopped at its
// bound on steps before it had an answer.
var ErrSearchExhausted = errors.New("the search for the next opening needs more steps than it may take")

// lastDate is the last date RFC 3339 can write.
var lastDate = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Windows answers whether the channel is open at the instant and when it
// next opens, searching as limit allows (NextOpeningWithin) and never past
// 9999-12-31. When the search
// runs out of steps the answer says whether the channel is open, and the
// error is ErrSearchExhausted.
func (a *Answers) Windows(channel v1alpha1.Channel, at time.Time, limit SearchLimit) (WindowAnswer, SearchStats, error) {
	if err := checkChannel(channel); err != nil {
		return WindowAnswer{}, SearchStats{}, err
	}
	return a.windows.answer(channel, at, limit)
}

// answer is Answers.Windows for the window set w, the channel checked.
func (w *WindowSet) answer(channel v1alpha1.Channel, at time.Time, limit SearchLimit) (WindowAnswer, SearchStats, error) {
	var ans WindowAnswer
	ans.Open, ans.Window = w.OpenAt(channel, at)
	// The search stops at 9999-12-31, the last date RFC 3339 can write.
	y, m, d := at.In(w.loc).Date()
	if days := int((lastDate.Unix() - time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()) / (24 * 60 * 60)); days < limit.Days {
		limit.Days = days
	}
	next, ok, stats := w.NextOpeningWithin(channel, at, limit)
	if stats.Exhausted {
		return ans, stats, ErrSearchExhausted
	}
	if ok {
		ans.NextOpening = next.Format(time.RFC3339)
	}
	return ans, stats, nil
}

// Deadlines is OfficeConfig.Deadlines with the calendar built once.
func (a *Answers) Deadlines(q DeadlineQuery) (DeadlineAnswer, error) {
	return a.config.deadlines(a.calendar, q)
}
