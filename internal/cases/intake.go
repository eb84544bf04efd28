package cases

import (
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// Intake is a petition as it enters the registry: the body of
// POST /v1/petitions (public) and POST /v1/cases (staff registration), as
// DecodeIntake checks and normalises it.
type Intake struct {
	// Office is the office the petition is made to.
	Office string `json:"office"`
	// Type is Report (检举控告), Appeal (申诉求决) or Inquiry (咨询建议).
	Type v1alpha1.PetitionType `json:"type"`
	// Category is the subject, a lowercase DNS label such as
	// land-acquisition (what routing matches).
	Category string `json:"category"`
	// Channel is how the petition came: Visit, Letter, Phone or Online.
	Channel v1alpha1.Channel `json:"channel"`
	// Locality is the place the matter is at, an office name; "" for the
	// office itself.
	Locality string `json:"locality,omitempty"`
	// Description is the matter in the petitioner's words, at most
	// MaxDescription characters.
	Description string `json:"description"`
	// Petitioner is who petitions (personal data).
	Petitioner Petitioner `json:"petitioner"`
	// GroupSize is how many petition together: 1 to MaxGroupSize.
	GroupSize int `json:"groupSize"`
	// ReceivedAt is when the petition arrived, given by staff registration
	// only: a date (2026-08-09) or an RFC 3339 time (in UTC once decoded).
	// ParseReceived checks it against the time now.
	ReceivedAt string `json:"receivedAt,omitempty"`
}

// Petitioner is who petitions. It is personal data (PIPL): the registry
// encrypts it, and it never goes into logs, events or metrics; its String
// and LogValue say so rather than print it.
type Petitioner struct {
	// Name is the petitioner's name, at most MaxName characters.
	Name string `json:"name,omitempty"`
	// Phone is a phone number to answer on: digits, spaces and + - ( ).
	Phone string `json:"phone,omitempty"`
	// IDNumber is an identity document's number: letters, digits and
	// '-', upper-cased.
	IDNumber string `json:"idNumber,omitempty"`
	// Confidential asks that the petitioner's data be kept confidential
	// (GB/T 33358).
	Confidential bool `json:"confidential,omitempty"`
	// Anonymous says the petitioner gives no name: a Report only, which
	// then gets no query code.
	Anonymous bool `json:"anonymous,omitempty"`
}

// String never prints personal data.
func (Petitioner) String() string { return "petitioner{personal data}" }

// GoString never prints personal data.
func (p Petitioner) GoString() string { return p.String() }

// LogValue never logs personal data.
func (p Petitioner) LogValue() slog.Value { return slog.StringValue(p.String()) }

// Bounds of an intake.
const (
	// MaxDescription bounds a description, in characters (as Open311).
	MaxDescription = 4000
	// MaxName bounds a petitioner's name, in characters.
	MaxName = 64
	// MaxPhone bounds a phone number, in characters.
	MaxPhone = 32
	// MaxIDNumber bounds an identity document's number, in characters.
	MaxIDNumber = 32
	// MaxCategory bounds a category: a DNS label.
	MaxCategory = 63
	// MaxGroupSize bounds groupSize.
	MaxGroupSize = 10000
	// CollectiveSize is the group size from which a petition is
	// collective (集体访): many who visit together elect at most 5
	// representatives.
	CollectiveSize = 5
	// MaxClockSkew is how far past the time now a receivedAt time may be.
	MaxClockSkew = 5 * time.Minute

	// maxReceivedAt bounds receivedAt before it is parsed.
	maxReceivedAt = 64
	// minPhoneDigits is the fewest digits of a phone number.
	minPhoneDigits = 5
)

var (
	categoryRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	phoneRe    = regexp.MustCompile(`^[0-9+\-() ]+$`)
	idNumberRe = regexp.MustCompile(`^[0-9A-Z]([-0-9A-Z]*[0-9A-Z])?$`)
)

var (
	intakeKeys     = []string{"office", "type", "category", "channel", "locality", "description", "petitioner", "groupSize", "receivedAt"}
	petitionerKeys = []string{"name", "phone", "idNumber", "confidential", "anonymous"}
	types          = []v1alpha1.PetitionType{v1alpha1.PetitionReport, v1alpha1.PetitionAppeal, v1alpha1.PetitionInquiry}
	channels       = []v1alpha1.Channel{v1alpha1.ChannelVisit, v1alpha1.ChannelLetter, v1alpha1.ChannelPhone, v1alpha1.ChannelOnline}
)

// DecodeIntake reads an intake body strictly: exactly one JSON object,
// no unknown field, no field given twice, nothing after it, each string
// bounded before it is decoded. A field given null or "" is not given.
//
// It checks and normalises: office and locality are office names; type
// and channel are matched whatever their case and written as their
// constants; a public petition (staff false) comes Online unless it says
// Letter or Phone, never as a Visit (staff register visits), and gives no
// receivedAt; a staff registration says its channel and may give
// receivedAt (its form is checked here and a time is written in UTC, its
// time against the clock by ParseReceived); groupSize is 1 unless given;
// the description and the petitioner's name, phone and idNumber are
// trimmed of surrounding white space, and the idNumber is upper-cased. A
// petitioner gives a name and a phone or an idNumber, unless a Report
// is anonymous and then gives none of them.
//
// Errors are *FieldError naming the dotted field (petitioner.phone).
func DecodeIntake(body []byte, staff bool) (Intake, error) {
	if len(body) > MaxBody {
		return Intake{}, fieldErr("body", "longer than %d bytes", MaxBody)
	}
	m, err := readObject(body, "", intakeKeys)
	if err != nil {
		return Intake{}, err
	}
	var in Intake
	str := func(field string, max int) string {
		if err != nil {
			return ""
		}
		var s string
		s, err = jsonString(m[field], field, max)
		return s
	}
	office := str("office", xinfang.MaxOfficeName)
	typ := str("type", maxEnum)
	in.Category = str("category", MaxCategory)
	channel := str("channel", maxEnum)
	in.Locality = str("locality", xinfang.MaxOfficeName)
	in.Description = strings.TrimSpace(str("description", MaxDescription))
	received := str("receivedAt", maxReceivedAt)
	if err != nil {
		return Intake{}, err
	}

	if err := officeName("office", office); err != nil {
		return Intake{}, err
	}
	in.Office = office
	if in.Type, err = enum("type", typ, types, ""); err != nil {
		return Intake{}, err
	}
	if in.Category == "" {
		return Intake{}, fieldErr("category", "required: a lowercase DNS label such as land-acquisition")
	}
	if !categoryRe.MatchString(in.Category) {
		return Intake{}, fieldErr("category", "%s is not a lowercase DNS label such as land-acquisition", xinfang.Quote(in.Category))
	}
	if in.Channel, err = intakeChannel(channel, staff); err != nil {
		return Intake{}, err
	}
	if in.Locality != "" {
		if err := officeName("locality", in.Locality); err != nil {
			return Intake{}, err
		}
	}
	if err := checkText("description", in.Description, MaxDescription, true); err != nil {
		return Intake{}, err
	}
	if in.Petitioner, err = decodePetitioner(m["petitioner"], in.Type); err != nil {
		return Intake{}, err
	}
	size, given, err := jsonInt(m["groupSize"], "groupSize", 1, MaxGroupSize)
	if err != nil {
		return Intake{}, err
	}
	in.GroupSize = 1
	if given {
		in.GroupSize = size
	}
	if received != "" {
		if !staff {
			return Intake{}, fieldErr("receivedAt", "given by staff registration only (POST /v1/cases); a petition is received when it is made")
		}
		t, date, err := parseReceived(received, time.UTC)
		if err != nil {
			return Intake{}, err
		}
		in.ReceivedAt = received
		if !date {
			in.ReceivedAt = t.UTC().Format(time.RFC3339Nano)
		}
	}
	return in, nil
}

// enum matches value, whatever its case, to one of allowed and returns
// that one; "" is def, or required when def is "".
func enum[T ~string](field, value string, allowed []T, def T) (T, error) {
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if strings.EqualFold(value, string(a)) {
			return a, nil
		}
		names[i] = string(a)
	}
	if value == "" {
		if def != "" {
			return def, nil
		}
		return "", fieldErr(field, "required: one of %s", strings.Join(names, ", "))
	}
	return "", fieldErr(field, "%s is not one of %s", xinfang.Quote(value), strings.Join(names, ", "))
}

// intakeChannel is the channel of an intake: public intake is Online by
// default and never a Visit; staff say the channel.
func intakeChannel(value string, staff bool) (v1alpha1.Channel, error) {
	def := v1alpha1.ChannelOnline
	if staff {
		def = ""
	}
	c, err := enum("channel", value, channels, def)
	if err != nil {
		return "", err
	}
	if c == v1alpha1.ChannelVisit && !staff {
		return "", fieldErr("channel", "Visit is registered by staff only (POST /v1/cases); a petition made here is Online, or a Letter or Phone call")
	}
	return c, nil
}

// decodePetitioner reads and checks the petitioner of a petition of type t.
func decodePetitioner(raw json.RawMessage, t v1alpha1.PetitionType) (Petitioner, error) {
	var p Petitioner
	m := map[string]json.RawMessage{}
	if !isNull(raw) {
		var err error
		if m, err = readObject(raw, "petitioner", petitionerKeys); err != nil {
			return p, err
		}
	}
	var err error
	for _, f := range []struct {
		key string
		to  *string
		max int
	}{
		{"name", &p.Name, MaxName},
		{"phone", &p.Phone, MaxPhone},
		{"idNumber", &p.IDNumber, MaxIDNumber},
	} {
		field := "petitioner." + f.key
		var s string
		if s, err = jsonString(m[f.key], field, f.max); err != nil {
			return p, err
		}
		*f.to = strings.TrimSpace(s)
		if err := checkLine(field, *f.to, f.max, false); err != nil {
			return p, err
		}
	}
	if p.Confidential, err = jsonBool(m["confidential"], "petitioner.confidential"); err != nil {
		return p, err
	}
	if p.Anonymous, err = jsonBool(m["anonymous"], "petitioner.anonymous"); err != nil {
		return p, err
	}
	p.IDNumber = strings.ToUpper(p.IDNumber)

	if p.Anonymous {
		if t != v1alpha1.PetitionReport {
			return p, fieldErr("petitioner.anonymous", "only a Report (检举控告) may be anonymous; the petition is of type %s", t)
		}
		for _, f := range []struct{ key, value string }{{"name", p.Name}, {"phone", p.Phone}, {"idNumber", p.IDNumber}} {
			if f.value != "" {
				return p, fieldErr("petitioner."+f.key, "not given by an anonymous petitioner (anonymous: true)")
			}
		}
		return p, nil
	}
	if p.Name == "" {
		return p, fieldErr("petitioner.name", "required, at most %d characters (only a Report may be anonymous: petitioner.anonymous true)", MaxName)
	}
	if p.Phone == "" && p.IDNumber == "" {
		return p, fieldErr("petitioner.phone", "required: a phone or an idNumber, to answer the petitioner")
	}
	if p.Phone != "" {
		if !phoneRe.MatchString(p.Phone) || countDigits(p.Phone) < minPhoneDigits {
			return p, fieldErr("petitioner.phone", "not a phone number: at least %d digits, with spaces and + - ( ) only", minPhoneDigits)
		}
	}
	if p.IDNumber != "" && !idNumberRe.MatchString(p.IDNumber) {
		return p, fieldErr("petitioner.idNumber", "not an identity document's number: letters, digits and '-'")
	}
	return p, nil
}

// countDigits counts the ASCII digits of s.
func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			n++
		}
	}
	return n
}

// Anonymous reports whether the petitioner gave no name: an anonymous
// Report gets no query code.
func (i Intake) Anonymous() bool { return i.Petitioner.Anonymous }

// Petition is what routing looks at.
func (i Intake) Petition() xinfang.Petition {
	return xinfang.Petition{Category: i.Category, Type: i.Type, Channel: i.Channel}
}

// Collective reports whether the petition is collective (集体访): a group
// of CollectiveSize or more.
func (i Intake) Collective() bool { return Collective(i.GroupSize) }

// Collective reports whether a group of groupSize petitioners is collective
// (集体访): CollectiveSize or more.
func Collective(groupSize int) bool { return groupSize >= CollectiveSize }

// fingerprintDomain separates intake fingerprints from other hashes.
const fingerprintDomain = "petition-operator/cases.Intake/v1\n"

// Fingerprint is a SHA-256 of the intake's canonical form (its JSON, as
// DecodeIntake normalises it): the same key given with another body is
// refused (409). Field order, white space and the case of type and channel
// in the body do not change it; any value does.
func (i Intake) Fingerprint() [32]byte {
	// Marshal cannot fail: strings, integers and booleans only.
	data, _ := json.Marshal(i)
	h := sha256.New()
	h.Write([]byte(fingerprintDomain))
	h.Write(data)
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// ParseReceived reads receivedAt: a date, 2026-08-09, meaning the start
// of that day in loc (UTC when nil), or an RFC 3339 time. It is never in
// the future: a date after today in loc, or a time more than MaxClockSkew
// after now, is refused; nor more than a year before now (the date a
// year before today is the earliest). Errors are *FieldError on
// receivedAt.
func ParseReceived(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	if s == "" {
		return time.Time{}, fieldErr("receivedAt", "required: a date (2026-08-09) or an RFC 3339 time")
	}
	t, date, err := parseReceived(s, loc)
	if err != nil {
		return time.Time{}, err
	}
	now = now.In(loc)
	latest, earliest := now.Add(MaxClockSkew), now.AddDate(-1, 0, 0)
	if date {
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
		latest, earliest = today, today.AddDate(-1, 0, 0)
	}
	if t.After(latest) {
		return time.Time{}, fieldErr("receivedAt", "%s is in the future: it is %s now in %s", s, now.Format(time.RFC3339), loc)
	}
	if t.Before(earliest) {
		return time.Time{}, fieldErr("receivedAt", "%s is more than a year ago: the earliest is %s", s, earliestText(earliest, date))
	}
	return t, nil
}

// earliestText writes the earliest receivedAt as its kind is written.
func earliestText(t time.Time, date bool) string {
	if date {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339)
}

// parseReceived reads the form of receivedAt: a date (the start of that
// day in loc; date true) or an RFC 3339 time.
func parseReceived(s string, loc *time.Location) (t time.Time, date bool, _ error) {
	bad := fieldErr("receivedAt", "%s is neither a date (2026-08-09) nor an RFC 3339 time (2026-08-09T09:30:00+08:00)", xinfang.Quote(s))
	if len(s) > maxReceivedAt {
		return time.Time{}, false, bad
	}
	if len(s) == len(time.DateOnly) {
		t, err := time.ParseInLocation(time.DateOnly, s, loc)
		if err != nil {
			return time.Time{}, false, bad
		}
		return t, true, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, false, bad
	}
	return t, false, nil
}
