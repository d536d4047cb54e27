package providers

import (
	"fmt"
	"sort"
	"strings"
)

// Every kind of provider but USSD (where the aggregator's route names it,
// so several run at once) is chosen by the environment, one at a time:
// a provider package registers itself in init() with the variables it
// reads, and configuration selects at most one. These helpers are that
// rule, once for every kind.

// choice is what selecting a provider needs to know of it.
type choice struct {
	name     string
	vars     []Var
	selected func(getenv func(string) string) bool
	check    func(getenv func(string) string) error
}

// selectable is a kind of provider chosen by the environment.
type selectable interface{ choice() choice }

// register adds p to reg; a second provider of the same name is a
// programming error, caught at start.
func register[P selectable](reg map[string]P, kind string, p P) {
	name := p.choice().name
	if _, dup := reg[name]; dup {
		panic("providers: " + kind + " provider " + name + " registered twice")
	}
	reg[name] = p
}

// sorted lists reg by name.
func sorted[P selectable](reg map[string]P) []P {
	out := make([]P, 0, len(reg))
	for _, p := range reg {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].choice().name < out[j].choice().name })
	return out
}

// choose returns the one provider of all the environment selects, after
// its Check; nil when none is selected; an error naming them when more
// than one is.
func choose[P selectable](all []P, kind string, getenv func(string) string) (*P, error) {
	var chosen []P
	for _, p := range all {
		if p.choice().selected(getenv) {
			chosen = append(chosen, p)
		}
	}
	switch len(chosen) {
	case 0:
		return nil, nil
	case 1:
		if err := chosen[0].choice().check(getenv); err != nil {
			return nil, err
		}
		return &chosen[0], nil
	}
	names := make([]string, len(chosen))
	for i, p := range chosen {
		c := p.choice()
		names[i] = c.name
		if len(c.vars) > 0 {
			names[i] += " (" + c.vars[0].Name + ")"
		}
	}
	return nil, fmt.Errorf("config: %s: choose one %s provider, not %s", kind, kind, strings.Join(names, " and "))
}
