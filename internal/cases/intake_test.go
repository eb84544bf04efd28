package cases

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// intakeBody is a public petition's body with fields replaced or added:
// a value of nil leaves the field out.
func intakeBody(t testing.TB, fields map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"office":      "zhenping",
		"type":        "Appeal",
		"category":    "land-acquisition",
		"description": "征地补偿款至今未发放",
		"petitioner":  map[string]any{"name": "张三", "phone": "138 0000 0000"},
	}
	for k, v := range fields {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeIntake(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		staff bool
		want  Intake
	}{
		{"a public petition", string(intakeBody(t, nil)), false, Intake{
			Office: "zhenping", Type: v1alpha1.PetitionAppeal, Category: "land-acquisition", Channel: v1alpha1.ChannelOnline,
			Description: "征地补偿款至今未发放", Petitioner: Petitioner{Name: "张三", Phone: "138 0000 0000"}, GroupSize: 1}},
		{"normalised", `{"office":"zhenping","type":"inQUIRY","category":"wage-arrears","channel":"letter","locality":"shifosi",
			"description":"  工资拖欠\n  ","groupSize":7,"petitioner":{"name":" 李四 ","idNumber":"41132319900101123x","confidential":true}}`, false, Intake{
			Office: "zhenping", Type: v1alpha1.PetitionInquiry, Category: "wage-arrears", Channel: v1alpha1.ChannelLetter, Locality: "shifosi",
			Description: "工资拖欠", Petitioner: Petitioner{Name: "李四", IDNumber: "41132319900101123X", Confidential: true}, GroupSize: 7}},
		{"null and empty are not given", `{"office":"zhenping","type":"Report","category":"graft","channel":null,"locality":"",
			"description":"x","groupSize":null,"receivedAt":"","petitioner":{"name":"王五","phone":"0377-6000000","idNumber":null,"anonymous":false}}`, false, Intake{
			Office: "zhenping", Type: v1alpha1.PetitionReport, Category: "graft", Channel: v1alpha1.ChannelOnline,
			Description: "x", Petitioner: Petitioner{Name: "王五", Phone: "0377-6000000"}, GroupSize: 1}},
		{"an anonymous Report", `{"office":"zhenping","type":"Report","category":"graft","description":"x","petitioner":{"anonymous":true,"confidential":true}}`, false, Intake{
			Office: "zhenping", Type: v1alpha1.PetitionReport, Category: "graft", Channel: v1alpha1.ChannelOnline,
			Description: "x", Petitioner: Petitioner{Anonymous: true, Confidential: true}, GroupSize: 1}},
		{"a visit registered by staff", string(intakeBody(t, map[string]any{"channel": "Visit", "groupSize": 5, "receivedAt": "2026-08-09"})), true, Intake{
			Office: "zhenping", Type: v1alpha1.PetitionAppeal, Category: "land-acquisition", Channel: v1alpha1.ChannelVisit,
			Description: "征地补偿款至今未发放", Petitioner: Petitioner{Name: "张三", Phone: "138 0000 0000"}, GroupSize: 5, ReceivedAt: "2026-08-09"}},
		{"a call registered by staff at a time", string(intakeBody(t, map[string]any{"channel": "Phone", "receivedAt": "2026-08-09T09:30:00.5+08:00"})), true, Intake{
			Office: "zhenping", Type: v1alpha1.PetitionAppeal, Category: "land-acquisition", Channel: v1alpha1.ChannelPhone,
			Description: "征地补偿款至今未发放", Petitioner: Petitioner{Name: "张三", Phone: "138 0000 0000"}, GroupSize: 1, ReceivedAt: "2026-08-09T01:30:00.5Z"}},
		{"staff registration with no receivedAt", string(intakeBody(t, map[string]any{"channel": "Letter"})), true, Intake{
			Office: "zhenping", Type: v1alpha1.PetitionAppeal, Category: "land-acquisition", Channel: v1alpha1.ChannelLetter,
			Description: "征地补偿款至今未发放", Petitioner: Petitioner{Name: "张三", Phone: "138 0000 0000"}, GroupSize: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeIntake([]byte(c.body), c.staff)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("DecodeIntake =\n %s, want\n %s", show(got), show(c.want))
			}
			if err := got.Petition().Validate(); err != nil {
				t.Errorf("Petition().Validate(): %v", err)
			}
		})
	}
}

// show writes an intake with its petitioner, which %v does not print.
func show(i Intake) string {
	data, _ := json.Marshal(i)
	return string(data)
}

func TestDecodeIntakeRefusals(t *testing.T) {
	visit := map[string]any{"channel": "Visit"}
	pet := func(p map[string]any) map[string]any { return map[string]any{"petitioner": p} }
	cases := []struct {
		name   string
		body   []byte
		staff  bool
		field  string
		saying string
	}{
		{"no body", nil, false, "body", "want a JSON object with fields office, type, category"},
		{"an array", []byte(`[{}]`), false, "body", "want a JSON object"},
		{"a string", []byte(`"office"`), false, "body", "want a JSON object"},
		{"data after the object", append(intakeBody(t, nil), " x"...), false, "body", "unexpected data after the JSON object"},
		{"two objects", append(intakeBody(t, nil), intakeBody(t, nil)...), false, "body", "unexpected data after the JSON object"},
		{"an object not closed", intakeBody(t, nil)[:20], false, "body", "want a JSON object"},
		{"a body too long", append(intakeBody(t, nil), make([]byte, MaxBody)...), false, "body", "longer than 65536 bytes"},
		{"an unknown field", intakeBody(t, map[string]any{"address": "x"}), false, "body", `unknown field "address"; want office, type, category, channel, locality, description, petitioner, groupSize, receivedAt`},
		{"a field cased otherwise", intakeBody(t, map[string]any{"Office": "x"}), false, "body", `unknown field "Office"`},
		{"a long unknown field", intakeBody(t, map[string]any{strings.Repeat("k", 5000): 1}), false, "body", `unknown field "kkkk`},
		{"an unknown petitioner field", intakeBody(t, pet(map[string]any{"name": "张三", "phone": "13800000000", "address": "x"})), false, "petitioner", `unknown field "address"; want name, phone, idNumber, confidential, anonymous`},
		{"a field twice", []byte(`{"office":"zhenping","office":"neixiang"}`), false, "office", "given twice"},
		{"a field twice, escaped", []byte(`{"office":"zhenping","offic\u0065":"neixiang"}`), false, "office", "given twice"},
		{"a petitioner field twice", intakeBody(t, map[string]any{"petitioner": json.RawMessage(`{"name":"a","name":"b"}`)}), false, "petitioner.name", "given twice"},
		{"no office", intakeBody(t, map[string]any{"office": nil}), false, "office", "required: an office name"},
		{"an office that is a number", intakeBody(t, map[string]any{"office": 7}), false, "office", "want a string"},
		{"a name no office has", intakeBody(t, map[string]any{"office": "Zhen Ping"}), false, "office", `"Zhen Ping" is not an office name`},
		{"an office name too long", intakeBody(t, map[string]any{"office": strings.Repeat("a", xinfang.MaxOfficeName+1)}), false, "office", "longer than 56 characters"},
		{"no type", intakeBody(t, map[string]any{"type": nil}), false, "type", "required: one of Report, Appeal, Inquiry"},
		{"a type not in the regulation", intakeBody(t, map[string]any{"type": "Complaint"}), false, "type", `"Complaint" is not one of Report, Appeal, Inquiry`},
		{"a type too long", intakeBody(t, map[string]any{"type": strings.Repeat("Appeal", 10)}), false, "type", "longer than 16 characters"},
		{"no category", intakeBody(t, map[string]any{"category": ""}), false, "category", "required: a lowercase DNS label"},
		{"a category not a label", intakeBody(t, map[string]any{"category": "Land Acquisition"}), false, "category", `"Land Acquisition" is not a lowercase DNS label`},
		{"a category too long", intakeBody(t, map[string]any{"category": strings.Repeat("a", 64)}), false, "category", "longer than 63 characters"},
		{"a channel not in the regulation", intakeBody(t, map[string]any{"channel": "Fax"}), false, "channel", `"Fax" is not one of Visit, Letter, Phone, Online`},
		{"a public visit", intakeBody(t, visit), false, "channel", "Visit is registered by staff only"},
		{"a public visit cased otherwise", intakeBody(t, map[string]any{"channel": "VISIT"}), false, "channel", "Visit is registered by staff only"},
		{"staff registration with no channel", intakeBody(t, nil), true, "channel", "required: one of Visit, Letter, Phone, Online"},
		{"a locality no office has", intakeBody(t, map[string]any{"locality": "石佛寺"}), false, "locality", "not an office name"},
		{"no description", intakeBody(t, map[string]any{"description": nil}), false, "description", "required"},
		{"a description of white space", intakeBody(t, map[string]any{"description": " \n\t "}), false, "description", "required"},
		{"a description too long", intakeBody(t, map[string]any{"description": strings.Repeat("字", MaxDescription+1)}), false, "description", "longer than 4000 characters"},
		{"a description escaped too long", []byte(`{"description":"` + strings.Repeat(`\ud83d\ude00`, MaxDescription+1) + `"}`), false, "description", "longer than 4000 characters"},
		{"a description with a control character", intakeBody(t, map[string]any{"description": "a\u0007b"}), false, "description", "control character U+0007"},
		{"a description that is an object", intakeBody(t, map[string]any{"description": map[string]any{}}), false, "description", "want a string"},
		{"no petitioner", intakeBody(t, map[string]any{"petitioner": nil}), false, "petitioner.name", "required"},
		{"a petitioner that is a string", intakeBody(t, map[string]any{"petitioner": "张三"}), false, "petitioner", "want a JSON object with fields name, phone"},
		{"no name", intakeBody(t, pet(map[string]any{"phone": "13800000000"})), false, "petitioner.name", "only a Report may be anonymous"},
		{"a name too long", intakeBody(t, pet(map[string]any{"name": strings.Repeat("张", MaxName+1), "phone": "13800000000"})), false, "petitioner.name", "longer than 64 characters"},
		{"a name on two lines", intakeBody(t, pet(map[string]any{"name": "张\n三", "phone": "13800000000"})), false, "petitioner.name", "control character U+000A"},
		{"neither phone nor idNumber", intakeBody(t, pet(map[string]any{"name": "张三"})), false, "petitioner.phone", "required: a phone or an idNumber"},
		{"a phone of letters", intakeBody(t, pet(map[string]any{"name": "张三", "phone": "call me"})), false, "petitioner.phone", "not a phone number"},
		{"a phone too short", intakeBody(t, pet(map[string]any{"name": "张三", "phone": "110"})), false, "petitioner.phone", "at least 5 digits"},
		{"a phone too long", intakeBody(t, pet(map[string]any{"name": "张三", "phone": strings.Repeat("1", MaxPhone+1)})), false, "petitioner.phone", "longer than 32 characters"},
		{"an idNumber with a space", intakeBody(t, pet(map[string]any{"name": "张三", "idNumber": "4113 2319"})), false, "petitioner.idNumber", "not an identity document's number"},
		{"an idNumber too long", intakeBody(t, pet(map[string]any{"name": "张三", "idNumber": strings.Repeat("1", MaxIDNumber+1)})), false, "petitioner.idNumber", "longer than 32 characters"},
		{"confidential as a string", intakeBody(t, pet(map[string]any{"name": "张三", "phone": "13800000000", "confidential": "yes"})), false, "petitioner.confidential", "want true or false"},
		{"an anonymous Appeal", intakeBody(t, pet(map[string]any{"anonymous": true})), false, "petitioner.anonymous", "only a Report (检举控告) may be anonymous; the petition is of type Appeal"},
		{"an anonymous Report with a name", intakeBody(t, map[string]any{"type": "Report", "petitioner": map[string]any{"anonymous": true, "name": "张三"}}), false, "petitioner.name", "not given by an anonymous petitioner"},
		{"an anonymous Report with a phone", intakeBody(t, map[string]any{"type": "Report", "petitioner": map[string]any{"anonymous": true, "phone": "13800000000"}}), false, "petitioner.phone", "not given by an anonymous petitioner"},
		{"a group of none", intakeBody(t, map[string]any{"groupSize": 0}), false, "groupSize", "want an integer from 1 to 10000"},
		{"a group too large", intakeBody(t, map[string]any{"groupSize": 10001}), false, "groupSize", "want an integer from 1 to 10000"},
		{"a negative group", intakeBody(t, map[string]any{"groupSize": -5}), false, "groupSize", "want an integer"},
		{"a fraction of a group", intakeBody(t, map[string]any{"groupSize": 2.5}), false, "groupSize", "want an integer"},
		{"a group as a string", intakeBody(t, map[string]any{"groupSize": "5"}), false, "groupSize", "want an integer"},
		{"a group with an exponent", intakeBody(t, map[string]any{"groupSize": json.RawMessage("1e2")}), false, "groupSize", "want an integer"},
		{"a huge group", intakeBody(t, map[string]any{"groupSize": json.RawMessage(strings.Repeat("9", 400))}), false, "groupSize", "want an integer"},
		{"receivedAt in a public petition", intakeBody(t, map[string]any{"receivedAt": "2026-08-09"}), false, "receivedAt", "given by staff registration only"},
		{"receivedAt in words", intakeBody(t, map[string]any{"channel": "Letter", "receivedAt": "yesterday"}), true, "receivedAt", `"yesterday" is neither a date (2026-08-09) nor an RFC 3339 time`},
		{"receivedAt on no day", intakeBody(t, map[string]any{"channel": "Letter", "receivedAt": "2026-02-30"}), true, "receivedAt", "is neither a date"},
		{"receivedAt with no zone", intakeBody(t, map[string]any{"channel": "Letter", "receivedAt": "2026-08-09T09:30:00"}), true, "receivedAt", "is neither a date"},
		{"receivedAt too long", intakeBody(t, map[string]any{"channel": "Letter", "receivedAt": strings.Repeat("2", 65)}), true, "receivedAt", "longer than 64 characters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeIntake(c.body, c.staff)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("%v: want a FieldError on %s", err, c.field)
			}
			if fe.Field != c.field || !strings.Contains(err.Error(), c.saying) {
				t.Errorf("%v\nwant a FieldError on %s saying %q", err, c.field, c.saying)
			}
			if !strings.HasPrefix(err.Error(), c.field+": ") {
				t.Errorf("%q does not start with the field", err)
			}
			if len(err.Error()) > 300 {
				t.Errorf("a %d-byte message: %.80s…", len(err.Error()), err)
			}
		})
	}
}

func TestAnonymous(t *testing.T) {
	in, err := DecodeIntake([]byte(`{"office":"zhenping","type":"report","category":"graft","description":"x","petitioner":{"anonymous":true}}`), false)
	if err != nil {
		t.Fatal(err)
	}
	if !in.Anonymous() {
		t.Error("an anonymous Report is not Anonymous()")
	}
	in, err = DecodeIntake(intakeBody(t, nil), false)
	if err != nil || in.Anonymous() {
		t.Errorf("a named Appeal: Anonymous() %v, %v", in.Anonymous(), err)
	}
}

func TestCollective(t *testing.T) {
	for size, want := range map[int]bool{1: false, 4: false, 5: true, 200: true} {
		if Collective(size) != want || (Intake{GroupSize: size}).Collective() != want {
			t.Errorf("Collective(%d) = %v, want %v", size, Collective(size), want)
		}
	}
}

// TestPetitionerNotPrinted: personal data stays out of what fmt and slog
// print.
func TestPetitionerNotPrinted(t *testing.T) {
	in, err := DecodeIntake(intakeBody(t, map[string]any{"petitioner": map[string]any{"name": "张三", "phone": "13812345678", "idNumber": "411323199001011234"}}), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(in), fmt.Sprintf("%+v", in), fmt.Sprintf("%#v", in), fmt.Sprint(in.Petitioner), in.Petitioner.LogValue().String()} {
		for _, pii := range []string{"张三", "13812345678", "411323199001011234"} {
			if strings.Contains(s, pii) {
				t.Errorf("%q prints %s", s, pii)
			}
		}
	}
}

func TestFingerprint(t *testing.T) {
	base := []byte(`{"office":"zhenping","type":"Appeal","category":"land-acquisition","description":"征地补偿款至今未发放","petitioner":{"name":"张三","phone":"13800000000"}}`)
	same := [][]byte{
		[]byte(`{
			"petitioner": {"phone": "13800000000", "name": "张三"},
			"description": "征地补偿款至今未发放",
			"category": "land-acquisition",
			"type": "appeal",
			"office": "zhenping"
		}`),
		[]byte(`{"office":"zhenping","type":"APPEAL","category":"land-acquisition","channel":"Online","groupSize":1,"locality":null,"description":"  征地补偿款至今未发放 ","petitioner":{"name":"张三","phone":"13800000000","anonymous":false}}`),
		[]byte(`{"office":"zhenping","type":"Appeal","category":"land-acquisition","description":"\u5f81\u5730\u8865\u507f\u6b3e\u81f3\u4eca\u672a\u53d1\u653e","petitioner":{"name":"张三","phone":"13800000000"}}`),
	}
	want := fingerprint(t, base, false)
	for _, body := range same {
		if got := fingerprint(t, body, false); got != want {
			t.Errorf("%s: another fingerprint than %s", body, base)
		}
	}
	seen := map[[32]byte]string{want: "base"}
	changed := map[string][]byte{
		"office":       bytesReplace(base, `"zhenping"`, `"neixiang"`),
		"type":         bytesReplace(base, `"Appeal"`, `"Inquiry"`),
		"category":     bytesReplace(base, `land-acquisition`, `wage-arrears`),
		"channel":      bytesReplace(base, `"office"`, `"channel":"Letter","office"`),
		"locality":     bytesReplace(base, `"office"`, `"locality":"shifosi","office"`),
		"description":  bytesReplace(base, `未发放`, `未发`),
		"name":         bytesReplace(base, `张三`, `张四`),
		"phone":        bytesReplace(base, `13800000000`, `13800000001`),
		"idNumber":     bytesReplace(base, `"name"`, `"idNumber":"411323","name"`),
		"confidential": bytesReplace(base, `"name"`, `"confidential":true,"name"`),
		"groupSize":    bytesReplace(base, `"office"`, `"groupSize":2,"office"`),
	}
	for field, body := range changed {
		got := fingerprint(t, body, false)
		if other, dup := seen[got]; dup {
			t.Errorf("changing %s gives the fingerprint of %s", field, other)
		}
		seen[got] = field
	}
	staff := fingerprint(t, bytesReplace(base, `"office"`, `"channel":"Letter","receivedAt":"2026-08-09T09:30:00+08:00","office"`), true)
	if utc := fingerprint(t, bytesReplace(base, `"office"`, `"channel":"Letter","receivedAt":"2026-08-09T01:30:00Z","office"`), true); utc != staff {
		t.Error("one instant written in two zones: two fingerprints")
	}
	if day := fingerprint(t, bytesReplace(base, `"office"`, `"channel":"Letter","receivedAt":"2026-08-09","office"`), true); day == staff {
		t.Error("a date and a time: one fingerprint")
	}
}

func fingerprint(t *testing.T, body []byte, staff bool) [32]byte {
	t.Helper()
	in, err := DecodeIntake(body, staff)
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return in.Fingerprint()
}

func bytesReplace(b []byte, old, new string) []byte {
	s := string(b)
	if !strings.Contains(s, old) {
		panic("no " + old)
	}
	return []byte(strings.Replace(s, old, new, 1))
}

func TestParseReceived(t *testing.T) {
	cst := time.FixedZone("CST", 8*60*60)
	// 04:00 on 10 August in Beijing, still 9 August in UTC.
	now := time.Date(2026, 8, 9, 20, 0, 0, 0, time.UTC)
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		s      string
		loc    *time.Location
		want   time.Time
		saying string // an error saying this
	}{
		{"2026-08-10", cst, time.Date(2026, 8, 10, 0, 0, 0, 0, cst), ""},
		{"2026-08-10", time.UTC, time.Time{}, "2026-08-10 is in the future: it is 2026-08-09T20:00:00Z now in UTC"},
		{"2026-08-10", nil, time.Time{}, "in the future"},
		{"2026-08-09", nil, time.Date(2026, 8, 9, 0, 0, 0, 0, time.UTC), ""},
		{"2026-08-11", cst, time.Time{}, "in the future"},
		{"2025-08-10", cst, time.Date(2025, 8, 10, 0, 0, 0, 0, cst), ""},
		{"2025-08-09", cst, time.Time{}, "2025-08-09 is more than a year ago: the earliest is 2025-08-10"},
		{"2026-08-09T20:05:00Z", cst, at("2026-08-09T20:05:00Z"), ""},
		{"2026-08-10T04:05:00+08:00", cst, at("2026-08-09T20:05:00Z"), ""},
		{"2026-08-09T20:05:00.000000001Z", cst, time.Time{}, "is in the future"},
		{"2025-08-09T20:00:00Z", time.UTC, at("2025-08-09T20:00:00Z"), ""},
		{"2025-08-09T19:59:59.999Z", time.UTC, time.Time{}, "more than a year ago: the earliest is 2025-08-09T20:00:00Z"},
		{"", cst, time.Time{}, "required"},
		{"2026-8-9", cst, time.Time{}, "neither a date"},
		{"2026/08/09", cst, time.Time{}, "neither a date"},
		{"2026-08-09 10:00:00+08:00", cst, time.Time{}, "neither a date"},
		{"2026-08-09T10:00:00", cst, time.Time{}, "neither a date"},
		{"2026-08-09T24:00:00Z", cst, time.Time{}, "neither a date"},
		{strings.Repeat("2026-08-09", 1000), cst, time.Time{}, "neither a date"},
	}
	for _, c := range cases {
		got, err := ParseReceived(c.s, now, c.loc)
		if c.saying == "" {
			if err != nil || !got.Equal(c.want) {
				t.Errorf("ParseReceived(%q, %v) = %v, %v; want %v", c.s, c.loc, got, err, c.want)
			}
			continue
		}
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "receivedAt" || !strings.Contains(err.Error(), c.saying) {
			t.Errorf("ParseReceived(%.40q, %v) = %v, %v; want a FieldError on receivedAt saying %q", c.s, c.loc, got, err, c.saying)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("a %d-byte message", len(err.Error()))
		}
	}
}

// TestReceivedRoundTrip: what DecodeIntake keeps of receivedAt,
// ParseReceived reads as the same time.
func TestReceivedRoundTrip(t *testing.T) {
	now := time.Date(2026, 8, 9, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"2026-08-09T09:30:00+08:00", "2026-08-01", "2026-08-09T11:59:59.123456789+01:00"} {
		in, err := DecodeIntake(intakeBody(t, map[string]any{"channel": "Letter", "receivedAt": s}), true)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ParseReceived(s, now, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseReceived(in.ReceivedAt, now, time.UTC)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s kept as %s: %v, %v; want %v", s, in.ReceivedAt, got, err, want)
		}
	}
}
