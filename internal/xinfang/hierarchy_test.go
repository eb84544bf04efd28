package xinfang

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

const (
	city       = v1alpha1.LevelCity
	county     = v1alpha1.LevelCounty
	township   = v1alpha1.LevelTownship
	village    = v1alpha1.LevelVillage
	department = v1alpha1.LevelDepartment
)

var allLevels = []v1alpha1.Level{city, county, township, village, department}

// office returns an Office named name at level with parent (empty for none).
func office(name string, level v1alpha1.Level, parent string) v1alpha1.Office {
	return v1alpha1.Office{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.OfficeSpec{Level: level, Parent: v1alpha1.OfficeName(parent)},
	}
}

// lookupOf returns a map-backed Lookup over offices.
func lookupOf(offices ...v1alpha1.Office) Lookup {
	m := make(map[string]*v1alpha1.Office, len(offices))
	for i := range offices {
		m[offices[i].Name] = &offices[i]
	}
	return func(name string) (*v1alpha1.Office, bool) {
		o, ok := m[name]
		return o, ok
	}
}

func TestCheckParentLevel(t *testing.T) {
	allowed := map[[2]v1alpha1.Level]bool{
		{county, city}:       true,
		{township, county}:   true,
		{village, township}:  true,
		{department, city}:   true,
		{department, county}: true,
	}
	// The exact message of every rejected combination.
	wantErr := map[[2]v1alpha1.Level]string{
		{city, city}:             "a City has no parent",
		{city, county}:           "a City has no parent",
		{city, township}:         "a City has no parent",
		{city, department}:       "a City has no parent",
		{city, village}:          "a City has no parent",
		{county, village}:        "the parent of a County must be a City, not a Village",
		{township, village}:      "the parent of a Township must be a County, not a Village",
		{department, village}:    "the parent of a Department must be a City or County, not a Village",
		{village, city}:          "the parent of a Village must be a Township, not a City",
		{village, county}:        "the parent of a Village must be a Township, not a County",
		{village, village}:       "the parent of a Village must be a Township, not a Village",
		{village, department}:    "the parent of a Village must be a Township, not a Department",
		{county, county}:         "the parent of a County must be a City, not a County",
		{county, township}:       "the parent of a County must be a City, not a Township",
		{county, department}:     "the parent of a County must be a City, not a Department",
		{township, city}:         "the parent of a Township must be a County, not a City",
		{township, township}:     "the parent of a Township must be a County, not a Township",
		{township, department}:   "the parent of a Township must be a County, not a Department",
		{department, township}:   "the parent of a Department must be a City or County, not a Township",
		{department, department}: "the parent of a Department must be a City or County, not a Department",
	}
	if got := len(allowed) + len(wantErr); got != len(allLevels)*len(allLevels) {
		t.Fatalf("test tables cover %d combinations, want %d", got, len(allLevels)*len(allLevels))
	}
	for _, child := range allLevels {
		for _, parent := range allLevels {
			key := [2]v1alpha1.Level{child, parent}
			t.Run(fmt.Sprintf("%s_under_%s", child, parent), func(t *testing.T) {
				err := CheckParentLevel(child, parent)
				if allowed[key] {
					if err != nil {
						t.Fatalf("CheckParentLevel(%s, %s) = %v, want nil", child, parent, err)
					}
					return
				}
				if err == nil {
					t.Fatalf("CheckParentLevel(%s, %s) = nil, want an error", child, parent)
				}
				if err.Error() != wantErr[key] {
					t.Errorf("CheckParentLevel(%s, %s) = %q, want %q", child, parent, err, wantErr[key])
				}
			})
		}
	}
}

func TestCheckParentLevelUnknownLevel(t *testing.T) {
	// An unknown level has no allowed parent, like a City.
	if err := CheckParentLevel("Province", city); err == nil || err.Error() != "a Province has no parent" {
		t.Errorf("CheckParentLevel(Province, City) = %v, want %q", err, "a Province has no parent")
	}
}

func TestAllowedParentLevels(t *testing.T) {
	tests := []struct {
		level v1alpha1.Level
		want  []v1alpha1.Level
	}{
		{city, nil},
		{county, []v1alpha1.Level{city}},
		{township, []v1alpha1.Level{county}},
		{village, []v1alpha1.Level{township}},
		{department, []v1alpha1.Level{city, county}},
	}
	for _, tt := range tests {
		if got := AllowedParentLevels(tt.level); !slices.Equal(got, tt.want) {
			t.Errorf("AllowedParentLevels(%s) = %v, want %v", tt.level, got, tt.want)
		}
	}
}

func TestPath(t *testing.T) {
	network := []v1alpha1.Office{
		office("nanyang", city, ""),
		office("zhenping", county, "nanyang"),
		office("shifosi", township, "zhenping"),
		office("nanyang-hr", department, "nanyang"),
		office("zhenping-nr", department, "zhenping"),
	}
	tests := []struct {
		name   string
		extra  []v1alpha1.Office // added to network
		office v1alpha1.Office
		want   []string
		// reason and message of the wanted problem; message is matched
		// exactly unless contains is set.
		reason   string
		message  string
		contains []string
	}{
		{
			name:   "city is its own root",
			office: office("nanyang", city, ""),
			want:   []string{"nanyang"},
		},
		{
			name:   "county",
			office: office("zhenping", county, "nanyang"),
			want:   []string{"nanyang", "zhenping"},
		},
		{
			name:   "township",
			office: office("shifosi", township, "zhenping"),
			want:   []string{"nanyang", "zhenping", "shifosi"},
		},
		{
			name:   "department under a city",
			office: office("nanyang-hr", department, "nanyang"),
			want:   []string{"nanyang", "nanyang-hr"},
		},
		{
			name:   "department under a county",
			office: office("zhenping-nr", department, "zhenping"),
			want:   []string{"nanyang", "zhenping", "zhenping-nr"},
		},
		{
			name:   "office not in the lookup with a valid parent",
			office: office("chaopi", township, "zhenping"),
			want:   []string{"nanyang", "zhenping", "chaopi"},
		},
		{
			name:    "missing parent",
			office:  office("lost", township, "x"),
			reason:  v1alpha1.ReasonParentMissing,
			message: `parent office "x" does not exist`,
		},
		{
			name:    "missing grandparent",
			extra:   []v1alpha1.Office{office("orphan-county", county, "gone-city")},
			office:  office("orphan-town", township, "orphan-county"),
			reason:  v1alpha1.ReasonParentMissing,
			message: `ancestor office "gone-city" (parent of "orphan-county") does not exist`,
		},
		{
			name:    "missing great-grandparent",
			extra:   []v1alpha1.Office{office("c2", county, "gone-city"), office("t2", township, "c2")},
			office:  office("t2", township, "c2"),
			reason:  v1alpha1.ReasonParentMissing,
			message: `ancestor office "gone-city" (parent of "c2") does not exist`,
		},
		{
			name:    "township under a city",
			office:  office("bad-town", township, "nanyang"),
			reason:  v1alpha1.ReasonInvalidLevel,
			message: `office "bad-town": the parent of a Township must be a County, not a City ("nanyang" is a City)`,
		},
		{
			name:    "county under a township",
			office:  office("bad-county", county, "shifosi"),
			reason:  v1alpha1.ReasonInvalidLevel,
			message: `office "bad-county": the parent of a County must be a City, not a Township ("shifosi" is a Township)`,
		},
		{
			name:    "township under a department",
			office:  office("bad-town", township, "zhenping-nr"),
			reason:  v1alpha1.ReasonInvalidLevel,
			message: `office "bad-town": the parent of a Township must be a County, not a Department ("zhenping-nr" is a Department)`,
		},
		{
			name:    "city with a parent",
			office:  office("second-city", city, "nanyang"),
			reason:  v1alpha1.ReasonInvalidLevel,
			message: `office "second-city": a City has no parent ("nanyang" is a City)`,
		},
		{
			name:    "wrong level higher up",
			extra:   []v1alpha1.Office{office("town-county", county, "shifosi")},
			office:  office("deep-town", township, "town-county"),
			reason:  v1alpha1.ReasonInvalidLevel,
			message: `office "town-county": the parent of a County must be a City, not a Township ("shifosi" is a Township)`,
		},
		{
			name:    "county without parent is not a root",
			office:  office("lone-county", county, ""),
			reason:  v1alpha1.ReasonInvalidLevel,
			message: `office "lone-county" is a County without a parent; only a City is a root`,
		},
		{
			name:     "chain ending in a county without parent",
			extra:    []v1alpha1.Office{office("lone-county", county, "")},
			office:   office("lone-town", township, "lone-county"),
			reason:   v1alpha1.ReasonInvalidLevel,
			message:  `office "lone-county" is a County without a parent; only a City is a root`,
			contains: []string{"only a City is a root"},
		},
		{
			name:    "department without parent is not a root",
			office:  office("lone-dept", department, ""),
			reason:  v1alpha1.ReasonInvalidLevel,
			message: `office "lone-dept" is a Department without a parent; only a City is a root`,
		},
		{
			name:    "self-parent",
			office:  office("narcissus", county, "narcissus"),
			reason:  v1alpha1.ReasonInCycle,
			message: "the parent chain narcissus returns to narcissus",
		},
		{
			name:    "self-parent city",
			office:  office("ouroboros", city, "ouroboros"),
			reason:  v1alpha1.ReasonInCycle,
			message: "the parent chain ouroboros returns to ouroboros",
		},
		{
			// The hops walked before the revisit (Township → County,
			// County → City) are of allowed levels; only the last hop, City →
			// Township, is wrong, and it is never level-checked because the
			// revisit is detected first.
			name: "three-office cycle detected before a level check fails",
			extra: []v1alpha1.Office{
				office("cy-town", township, "cy-county"),
				office("cy-county", county, "cy-city"),
				office("cy-city", city, "cy-town"),
			},
			office:  office("cy-town", township, "cy-county"),
			reason:  v1alpha1.ReasonInCycle,
			message: "the parent chain cy-town → cy-county → cy-city returns to cy-town",
		},
		{
			name: "two-office cycle walked from the county",
			extra: []v1alpha1.Office{
				office("p-county", county, "p-city"),
				office("p-city", city, "p-county"),
			},
			office:  office("p-county", county, "p-city"),
			reason:  v1alpha1.ReasonInCycle,
			message: "the parent chain p-county → p-city returns to p-county",
		},
		{
			// From the City, the first hop City → County is checked (and
			// fails) before the walk could come back.
			name: "two-office cycle walked from the city",
			extra: []v1alpha1.Office{
				office("p-county", county, "p-city"),
				office("p-city", city, "p-county"),
			},
			office:  office("p-city", city, "p-county"),
			reason:  v1alpha1.ReasonInvalidLevel,
			message: `office "p-city": a City has no parent ("p-county" is a County)`,
		},
		{
			name: "chain leading into a cycle",
			extra: []v1alpha1.Office{
				office("q-county", county, "q-city"),
				office("q-city", city, "q-county"),
			},
			office:  office("q-town", township, "q-county"),
			reason:  v1alpha1.ReasonInCycle,
			message: "the parent chain q-town → q-county → q-city returns to q-county",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := lookupOf(append(slices.Clone(network), tt.extra...)...)
			o := tt.office
			got, problem := Path(&o, lookup)
			if tt.reason == "" {
				if problem != nil {
					t.Fatalf("Path(%s) problem = %+v, want none", o.Name, *problem)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Path(%s) = %q, want %q", o.Name, got, tt.want)
				}
				return
			}
			if problem == nil {
				t.Fatalf("Path(%s) = %q, want problem %s", o.Name, got, tt.reason)
			}
			if got != nil {
				t.Errorf("Path(%s) returned path %q along with a problem", o.Name, got)
			}
			if problem.Reason != tt.reason {
				t.Errorf("Path(%s) reason = %q, want %q (message %q)", o.Name, problem.Reason, tt.reason, problem.Message)
			}
			if problem.Message != tt.message {
				t.Errorf("Path(%s) message = %q, want %q", o.Name, problem.Message, tt.message)
			}
			for _, s := range tt.contains {
				if !strings.Contains(problem.Message, s) {
					t.Errorf("Path(%s) message = %q, want it to contain %q", o.Name, problem.Message, s)
				}
			}
		})
	}
}

// TestPathMissingAncestorMessage checks that a missing parent and a missing
// grandparent are told apart in the message.
func TestPathMissingAncestorMessage(t *testing.T) {
	lookup := lookupOf(office("c", county, "gone"))
	t1 := office("t1", township, "c")
	_, p := Path(&t1, lookup)
	if p == nil || !strings.Contains(p.Message, "ancestor office") || !strings.Contains(p.Message, `"gone"`) {
		t.Errorf("missing grandparent: problem = %+v, want a message naming ancestor office \"gone\"", p)
	}
	t2 := office("t2", township, "nowhere")
	_, p = Path(&t2, lookup)
	if p == nil || strings.Contains(p.Message, "ancestor") || !strings.HasPrefix(p.Message, "parent office") {
		t.Errorf("missing parent: problem = %+v, want a message starting with \"parent office\"", p)
	}
}

// TestPathEveryCycle walks every cycle of two to four offices, with every
// assignment of levels, from every office on it and from an office hanging
// off it, and checks that none yields a path and each is reported as InCycle
// or InvalidLevel.
//
// Whether InCycle is reported depends on where the walk starts: Path checks
// for a revisit before it checks the level of the next hop, but it checks
// the level of every hop it takes before the revisit. Every cycle contains a
// City-to-something hop or another disallowed hop, because the allowed
// parent levels (Township → County → City, Department → County or City) form
// no cycle and a City has no parent. So a walk that meets the disallowed hop
// before it returns to a visited office reports InvalidLevel; a walk whose
// disallowed hop is the closing one reports InCycle (see the "three-office
// cycle" case of TestPath). Both are correct; a path is never.
func TestPathEveryCycle(t *testing.T) {
	var reasons = map[string]int{}
	for n := 1; n <= 4; n++ {
		// Every assignment of levels to the n offices of the cycle.
		total := 1
		for range n {
			total *= len(allLevels)
		}
		for code := range total {
			levels := make([]v1alpha1.Level, n)
			c := code
			for i := range levels {
				levels[i] = allLevels[c%len(allLevels)]
				c /= len(allLevels)
			}
			cycle := make([]v1alpha1.Office, n)
			for i := range cycle {
				cycle[i] = office(fmt.Sprintf("o%d", i), levels[i], fmt.Sprintf("o%d", (i+1)%n))
			}
			hanger := office("hanger", township, "o0")
			lookup := lookupOf(append(slices.Clone(cycle), hanger)...)
			for _, start := range append(cycle, hanger) {
				path, problem := Path(&start, lookup)
				if problem == nil {
					t.Fatalf("cycle %v from %s: Path = %q without a problem", levels, start.Name, path)
				}
				if path != nil {
					t.Errorf("cycle %v from %s: Path returned %q with problem %+v", levels, start.Name, path, *problem)
				}
				switch problem.Reason {
				case v1alpha1.ReasonInCycle, v1alpha1.ReasonInvalidLevel:
					reasons[problem.Reason]++
				default:
					t.Errorf("cycle %v from %s: reason %q (%s), want InCycle or InvalidLevel",
						levels, start.Name, problem.Reason, problem.Message)
				}
			}
		}
	}
	// Both outcomes occur.
	if reasons[v1alpha1.ReasonInCycle] == 0 || reasons[v1alpha1.ReasonInvalidLevel] == 0 {
		t.Errorf("reasons seen = %v, want both InCycle and InvalidLevel", reasons)
	}
}

// TestPathDoesNotLookUpTheStart checks that the walk starts from the office
// given, not from the lookup's version of it.
func TestPathDoesNotLookUpTheStart(t *testing.T) {
	lookup := lookupOf(office("nanyang", city, ""), office("c", county, "nanyang"), office("x", township, "gone"))
	// The lookup's x has a missing parent; the given x is fine.
	x := office("x", township, "c")
	got, problem := Path(&x, lookup)
	if problem != nil || !slices.Equal(got, []string{"nanyang", "c", "x"}) {
		t.Errorf("Path(x) = %q, %+v; want [nanyang c x] and no problem", got, problem)
	}
}
