package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/cases"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// Network is the network the registry routes and counts with, as it is
// now: from files (--network-dir) or the cluster's cache. Each call may
// return a newer one; a Net does not change.
type Network interface {
	Current() *Net
}

// Net is one consistent network: its index and its offices' compiled
// configurations, compiled once each on first use (xinfang.Compile, the
// one path the operator and petitionctl take).
type Net struct {
	network *xinfang.Network
	// city, when not empty, is the City the Net is restricted to: an
	// office outside its subtree is unknown (Restrict).
	city    string
	mu      sync.Mutex
	configs map[string]configResult
}

type configResult struct {
	cfg *xinfang.OfficeConfig
	err error
}

// NewNet indexes a snapshot of the network.
func NewNet(s *xinfang.Snapshot) *Net {
	return &Net{network: s.Network(), configs: map[string]configResult{}}
}

// Static is a Network that never changes: a network read from files.
type Static struct{ Net *Net }

// Current returns the network.
func (s Static) Current() *Net { return s.Net }

// Config returns the compiled configuration of the office.
func (n *Net) Config(office string) (*xinfang.OfficeConfig, error) {
	if _, ok := n.Office(office); !ok && n.city != "" {
		return nil, n.Unknown("office", office)
	}
	n.mu.Lock()
	r, ok := n.configs[office]
	n.mu.Unlock()
	if ok {
		return r.cfg, r.err
	}
	cfg, err := n.network.OfficeConfig(office)
	n.mu.Lock()
	n.configs[office] = configResult{cfg, err}
	n.mu.Unlock()
	return cfg, err
}

// Office returns the office of the name and whether it exists (in the
// City of a restricted Net).
func (n *Net) Office(name string) (*v1alpha1.Office, bool) {
	o, ok := n.network.Get(name)
	if !ok || (n.city != "" && !slices.Contains(n.path(o), n.city)) {
		return nil, false
	}
	return o, true
}

// Unknown is the error of an office the Net does not know, for the field
// that names it: it does not exist, or it is outside the City the Net is
// restricted to.
func (n *Net) Unknown(field, name string) *cases.FieldError {
	if _, ok := n.network.Get(name); ok && n.city != "" {
		return &cases.FieldError{Field: field, Message: fmt.Sprintf("office %s is not in this registry's City %s", xinfang.Quote(name), xinfang.Quote(n.city))}
	}
	return &cases.FieldError{Field: field, Message: fmt.Sprintf("office %s does not exist", xinfang.Quote(name))}
}

// Path is the office's path from the City, nil when it has none (or is
// outside the City of a restricted Net).
func (n *Net) Path(name string) []string {
	o, ok := n.Office(name)
	if !ok {
		return nil
	}
	return n.path(o)
}

func (n *Net) path(o *v1alpha1.Office) []string {
	p, problem := n.network.Path(o)
	if problem != nil {
		return nil
	}
	return p
}

// Within says whether office stands at or below ancestor: an office acts
// on the cases at it or below it.
func (n *Net) Within(office, ancestor string) bool {
	return slices.Contains(n.Path(office), ancestor)
}

// Subtree lists the office and every office below it.
func (n *Net) Subtree(office string) []string {
	var out []string
	for _, o := range n.network.All() {
		if slices.Contains(n.Path(o.Name), office) {
			out = append(out, o.Name)
		}
	}
	slices.Sort(out)
	return out
}

// Offices lists every office of the network with a tenant (a Village has
// none: it receives nothing).
func (n *Net) Offices() []string {
	var out []string
	for _, o := range n.network.All() {
		if _, in := n.Office(o.Name); in && o.Spec.Level.HasTenant() {
			out = append(out, o.Name)
		}
	}
	slices.Sort(out)
	return out
}

// City is the network's City office (the City a Net is restricted to);
// "" in an empty network.
func (n *Net) City() string {
	if n.city != "" {
		return n.city
	}
	for _, o := range n.network.All() {
		if o.Spec.Level == v1alpha1.LevelCity {
			return o.Name
		}
	}
	return ""
}

// Root is the network's City: the office that keeps the books of stages
// handled above the network.
func (n *Net) Root(office string) string {
	if p := n.Path(office); len(p) > 0 {
		return p[0]
	}
	return office
}

// Location is the office's time zone: the days of its deadlines are its
// days.
func (n *Net) Location(office string) *time.Location {
	cfg, err := n.Config(office)
	if err != nil || cfg.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Todays gives each office's today at now (a UTC midnight, as the
// network's dates): the day in the office's time zone, each zone loaded
// once.
func (n *Net) Todays(offices []string, now time.Time) []time.Time {
	days := map[string]time.Time{}
	out := make([]time.Time, len(offices))
	for i, office := range offices {
		zone := v1alpha1.DefaultTimeZone
		if o, ok := n.Office(office); ok && o.Spec.TimeZone != "" {
			zone = o.Spec.TimeZone
		}
		day, ok := days[zone]
		if !ok {
			loc, err := time.LoadLocation(zone)
			if err != nil {
				loc = time.UTC
			}
			day = civilDay(now.In(loc))
			days[zone] = day
		}
		out[i] = day
	}
	return out
}

// Answer is the deadlines answer for a petition received at office on
// received, exactly as petitionctl deadlines gives it: routed at the
// locality when there is one (a Department is no place), the skip-level
// visit redirected. Errors name the field at fault.
func (n *Net) Answer(office, locality string, p xinfang.Petition, received time.Time) (xinfang.DeadlineAnswer, error) {
	if o, ok := n.Office(office); ok && !o.Spec.Level.HasTenant() {
		return xinfang.DeadlineAnswer{}, &cases.FieldError{Field: "office", Message: fmt.Sprintf("office %s is a %s served by its township; file the petition with %s", xinfang.Quote(office), o.Spec.Level, xinfang.Quote(string(o.Spec.Parent)))}
	}
	cfg, err := n.Config(office)
	if err != nil {
		return xinfang.DeadlineAnswer{}, err
	}
	q := xinfang.DeadlineQuery{Received: received, Petition: &p}
	if locality != "" && locality != office {
		local, ok := n.Office(locality)
		if !ok {
			return xinfang.DeadlineAnswer{}, n.Unknown("locality", locality)
		}
		if err := xinfang.CheckLocality(locality, local.Spec.Level); err != nil {
			return xinfang.DeadlineAnswer{}, &cases.FieldError{Field: "locality", Message: err.Error()}
		}
		lcfg, err := n.Config(locality)
		if err != nil {
			return xinfang.DeadlineAnswer{}, &cases.FieldError{Field: "locality", Message: err.Error()}
		}
		h, err := lcfg.Handling(p)
		if err != nil {
			return xinfang.DeadlineAnswer{}, err
		}
		q.Locality = &h
	}
	return cfg.Deadlines(q)
}

// Reloading is a Network read again from its source every interval: a
// change of the files gives a new Net (compiled again on first use), a
// failure keeps the last good one.
type Reloading struct {
	cur  atomic.Pointer[Net]
	hash string
	load func() (*xinfang.Snapshot, error)
}

// NewReloading loads the network once; an error is the first load's.
func NewReloading(load func() (*xinfang.Snapshot, error)) (*Reloading, error) {
	r := &Reloading{load: load}
	if _, err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Current returns the network last loaded.
func (r *Reloading) Current() *Net { return r.cur.Load() }

// Reload reads the source again and says whether the network changed.
func (r *Reloading) Reload() (bool, error) {
	s, err := r.load()
	if err != nil {
		return false, err
	}
	h, err := xinfang.Hash(s)
	if err != nil {
		return false, err
	}
	if h == r.hash {
		return false, nil
	}
	r.hash = h
	r.cur.Store(NewNet(s))
	return true, nil
}

// Run reloads every interval until ctx ends, calling report with each
// reload's outcome that is a change or an error.
func (r *Reloading) Run(ctx context.Context, interval time.Duration, report func(changed bool, err error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if changed, err := r.Reload(); changed || err != nil {
				report(changed, err)
			}
		}
	}
}

// Restrict returns the network of one City: offices outside its subtree
// are unknown to it (Office, Path, Subtree, Offices, Config, Answer), and
// City is that City. The error says the network has no City of the name;
// the Net returned with it knows no office.
func (n *Net) Restrict(city string) (*Net, error) {
	out := &Net{network: n.network, city: city, configs: map[string]configResult{}}
	none := &Net{network: (&xinfang.Snapshot{Live: true}).Network(), city: city, configs: map[string]configResult{}}
	o, ok := n.network.Get(city)
	switch {
	case !ok:
		var cities []string
		for _, o := range n.network.All() {
			if o.Spec.Level == v1alpha1.LevelCity {
				cities = append(cities, o.Name)
			}
		}
		slices.Sort(cities)
		if len(cities) == 0 {
			cities = []string{"none"}
		}
		return none, fmt.Errorf("the network has no City %s (its Cities: %s)", xinfang.Quote(city), strings.Join(cities, ", "))
	case o.Spec.Level != v1alpha1.LevelCity:
		return none, fmt.Errorf("office %s is a %s, not a City", xinfang.Quote(city), o.Spec.Level)
	}
	return out, nil
}

// CityView is the Network of one City of another Network: each Net its
// base gives is restricted to the City (Net.Restrict) once, so that every
// lookup of the registry (intake, tokens, lists, figures) knows the
// City's offices alone.
type CityView struct {
	base Network
	city string
	mu   sync.Mutex
	last atomic.Pointer[cityNet]
}

// cityNet is the view of one Net of the base.
type cityNet struct {
	from, view *Net
	err        error
}

// NewCityView returns the view of city over base.
func NewCityView(base Network, city string) *CityView {
	return &CityView{base: base, city: city}
}

// Current returns the City's part of the base's current network.
func (v *CityView) Current() *Net { return v.current().view }

// Ready says whether the base's current network has the City: an error
// naming the City otherwise.
func (v *CityView) Ready() error { return v.current().err }

func (v *CityView) current() *cityNet {
	base := v.base.Current()
	if c := v.last.Load(); c != nil && c.from == base {
		return c
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if c := v.last.Load(); c != nil && c.from == base {
		return c
	}
	view, err := base.Restrict(v.city)
	c := &cityNet{from: base, view: view, err: err}
	v.last.Store(c)
	return c
}
