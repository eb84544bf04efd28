package xinfang

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// Place is where an office stands in the network: the names from the City
// down to it, and its level.
type Place struct {
	Path  []string       `json:"path"`
	Level v1alpha1.Level `json:"level"`
}

// levelPath is the path of the place's level office: the office itself,
// or its parent when it is a Department (a department stands at the level
// of the City or County it belongs to) or a Village (a village stands at
// its township: a matter that arose there is the township's to receive and
// route).
func (p Place) levelPath() []string {
	if (p.Level == v1alpha1.LevelDepartment || p.Level == v1alpha1.LevelVillage) && len(p.Path) > 1 {
		return p.Path[:len(p.Path)-1]
	}
	return p.Path
}

// placeOf is where target stands, seen from office at path: office itself
// when it is the target, else target's path in the index. It is empty when
// the target is not in the network.
func placeOf(office *v1alpha1.Office, path []string, target string, idx *Network) Place {
	if target == office.Name {
		return Place{Path: path, Level: office.Spec.Level}
	}
	t, ok := idx.Get(target)
	if !ok {
		return Place{}
	}
	tpath, problem := idx.Path(t)
	if problem != nil {
		return Place{}
	}
	return Place{Path: tpath, Level: t.Spec.Level}
}

// SkipLevel decides whether a petition received at receiver through
// channel and handled by handler is a skip-level visit (越级访), and where
// the petitioner is redirected. A visit is to be made to the body with the
// authority to handle the matter, or the one above it: the handler's level
// office or that office's parent. A Visit received by an office whose level
// office stands above that parent (a proper ancestor of it) skips a level:
// it is redirected to the handler's level office. Letters, phone calls and
// online petitions never skip a level, nor does a petition whose handler
// or receiver stands nowhere known.
func SkipLevel(receiver Place, channel v1alpha1.Channel, handler Place) (bool, string) {
	if channel != v1alpha1.ChannelVisit {
		return false, ""
	}
	level, recv := handler.levelPath(), receiver.levelPath()
	if len(level) < 2 || len(recv) == 0 {
		return false, ""
	}
	parent := level[:len(level)-1]
	if len(recv) >= len(parent) || !slices.Equal(recv, parent[:len(recv)]) {
		return false, ""
	}
	return true, level[len(level)-1]
}

// Handling is what the configuration of a petition's locality says of it:
// the route in the locality's table, where the handler stands, and the
// handler's chain from Acceptance on. A desk answers it for a receiving
// office's desk (GET /v1/handler), which decides the skip-level visit and
// counts the deadlines with its own calendar.
type Handling struct {
	// Route is the locality's route of the petition: its skipLevel and
	// redirectTo are left for the receiving office to decide.
	Route Route `json:"route"`
	// Handler is where Route.Office stands; empty when the configuration
	// does not know.
	Handler Place `json:"handler"`
	// Chain is the handler's chain, every stage; nil when the
	// configuration holds none.
	Chain *HandlerChain `json:"chain"`
	// Locality is where the office whose configuration answered stands:
	// the receiving desk refuses a locality that is not a place
	// (CheckLocality). Empty from a desk older than the field.
	Locality Place `json:"locality,omitzero"`
}

// LocalityLevels are the levels of an office that may be a petition's
// locality (属地): the place the matter arose. A Department is no place.
var LocalityLevels = []v1alpha1.Level{v1alpha1.LevelCity, v1alpha1.LevelCounty, v1alpha1.LevelTownship, v1alpha1.LevelVillage}

// CheckLocality refuses an office of level as a petition's locality unless
// it is a place (LocalityLevels): the message names the office, its level
// and what is allowed. An unknown level (empty) is not refused. petitionctl
// (--locality, exit 1) and the desk (locality=, 422) refuse through it.
func CheckLocality(name string, level v1alpha1.Level) error {
	if level == "" || slices.Contains(LocalityLevels, level) {
		return nil
	}
	return fmt.Errorf("locality %s is a %s; a locality is the place the matter arose: a City, County, Township or Village", Quote(name), level)
}

// Handling answers how the office's configuration handles a petition that
// arose there (the office is its locality): its route (no match: the office
// itself), the handler's place and chain.
func (c *OfficeConfig) Handling(p Petition) (Handling, error) {
	if err := p.Validate(); err != nil {
		return Handling{}, err
	}
	route, rule := Route{Office: c.Office, Copies: []string{}}, (*CompiledRule)(nil)
	if c.Routing != nil {
		route, rule = c.Routing.route(c.Office, p)
	}
	h := Handling{Route: route, Handler: c.Place(), Locality: c.Place()}
	if route.Office != c.Office && rule != nil {
		h.Handler = Place{Path: rule.TargetPath, Level: rule.TargetLevel}
	}
	switch {
	case route.Office != c.Office:
		h.Chain = c.Handlers[route.Office]
	case c.Escalation != nil:
		h.Chain = &HandlerChain{Escalation: *c.Escalation}
	}
	return h, nil
}

// Place is where the configuration's office stands.
func (c *OfficeConfig) Place() Place { return Place{Path: c.Path, Level: c.Level} }

// RouteWith answers where a petition the office receives goes (属地管理):
// in the routing table of its locality, whose handling of the petition is
// locality (Handling of the locality's configuration), or in the office's
// own table when locality is nil (the office is the locality). Whether it
// is a skip-level visit is decided from where the office and the handler
// stand (SkipLevel), except that a Visit received at a joint reception
// centre where the handler is stationed is handled on the spot, never a
// skip-level visit for that handler. CLI and desk answer through it.
func (c *OfficeConfig) RouteWith(p Petition, locality *Handling) (Route, error) {
	r, err := c.receive(p, locality)
	if err != nil {
		return Route{}, err
	}
	route := r.handling.Route
	route.Copies = slices.Clone(route.Copies)
	if route.Copies == nil {
		route.Copies = []string{}
	}
	route.SkipLevel, route.RedirectTo = r.skipLevel, r.redirectTo
	return route, nil
}

// receipt is how the office receives a petition: the locality's handling
// of it, whether it is a visit handled on the spot at the office's joint
// reception centre, and whether it is a skip-level visit and where to.
type receipt struct {
	handling   *Handling
	onTheSpot  bool
	skipLevel  bool
	redirectTo string
}

// receive decides how the office receives the petition whose handling by
// its locality is locality (the office's own when nil): a visit to a joint
// reception centre where its handler is stationed is handled on the spot,
// never skip-level for that handler; otherwise SkipLevel decides from where
// the office and the handler stand. RouteWith and the deadlines answer
// through it.
func (c *OfficeConfig) receive(p Petition, locality *Handling) (receipt, error) {
	if err := p.Validate(); err != nil {
		return receipt{}, err
	}
	h := locality
	if h == nil {
		own, err := c.Handling(p)
		if err != nil {
			return receipt{}, err
		}
		h = &own
	}
	r := receipt{handling: h, onTheSpot: p.Channel == v1alpha1.ChannelVisit && c.Stationed(h.Route.Office)}
	if !r.onTheSpot {
		r.skipLevel, r.redirectTo = SkipLevel(c.Place(), p.Channel, h.Handler)
	}
	return r, nil
}

// MaxOfficeName is the longest office name: its namespace office-<name> is
// a DNS label too.
const MaxOfficeName = 56

var officeNameRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// CheckOfficeName refuses a name that no office can have (a DNS-1123 label
// of at most MaxOfficeName characters); the error names field.
func CheckOfficeName(field, name string) error {
	if name == "" {
		return fmt.Errorf("%s: required: an office name", field)
	}
	if len(name) > MaxOfficeName || !officeNameRe.MatchString(name) {
		return fmt.Errorf("%s: %s is not an office name: a DNS-1123 label of at most %d characters (lowercase letters, digits, '-')", field, Quote(name), MaxOfficeName)
	}
	return nil
}

// Bounds of a Handling a desk is given by another.
const (
	maxHandlingPath   = 8
	maxHandlingCopies = 256
	maxHandlingName   = 253
	maxHandlingText   = 1024
)

// Check refuses a handling that no configuration gives: office names that
// are not names, a path that does not end at the handler, unbounded lists or
// an unknown level. Errors name the field. The chain's bounds are the
// reader's to check.
func (h *Handling) Check() error {
	if err := CheckOfficeName("route.office", h.Route.Office); err != nil {
		return err
	}
	if len(h.Route.Rule) > maxHandlingName || len(h.Route.Policy) > maxHandlingName {
		return fmt.Errorf("route.rule, route.policy: longer than %d bytes", maxHandlingName)
	}
	if n := len(h.Route.Copies); n > maxHandlingCopies {
		return fmt.Errorf("route.copies: %d offices, at most %d", n, maxHandlingCopies)
	}
	for i, o := range h.Route.Copies {
		if err := CheckOfficeName(fmt.Sprintf("route.copies[%d]", i), o); err != nil {
			return err
		}
	}
	if n := len(h.Handler.Path); n > maxHandlingPath {
		return fmt.Errorf("handler.path: %d offices, at most %d", n, maxHandlingPath)
	}
	for i, o := range h.Handler.Path {
		if err := CheckOfficeName(fmt.Sprintf("handler.path[%d]", i), o); err != nil {
			return err
		}
	}
	if n := len(h.Handler.Path); n > 0 && h.Handler.Path[n-1] != h.Route.Office {
		return fmt.Errorf("handler.path: ends at %s, not at the handler %s", Quote(h.Handler.Path[n-1]), Quote(h.Route.Office))
	}
	for _, p := range []struct {
		field string
		place Place
	}{{"handler", h.Handler}, {"locality", h.Locality}} {
		if n := len(p.place.Path); n > maxHandlingPath {
			return fmt.Errorf("%s.path: %d offices, at most %d", p.field, n, maxHandlingPath)
		}
		switch p.place.Level {
		case "", v1alpha1.LevelCity, v1alpha1.LevelCounty, v1alpha1.LevelTownship, v1alpha1.LevelVillage, v1alpha1.LevelDepartment:
		default:
			return fmt.Errorf("%s.level: %s is not one of City, County, Township, Village, Department", p.field, Quote(string(p.place.Level)))
		}
	}
	for i, o := range h.Locality.Path {
		if err := CheckOfficeName(fmt.Sprintf("locality.path[%d]", i), o); err != nil {
			return err
		}
	}
	if h.Chain != nil && len(h.Chain.Warning) > maxHandlingText {
		return fmt.Errorf("chain.warning: longer than %d bytes", maxHandlingText)
	}
	return nil
}
