// Package menus is the USSD journey: which screen follows which input,
// and what each screen says. It is pure: no Redis, no HTTP, no SQL. The
// engine restores a Session, calls Step with the newest input, and saves
// the Session back; catalog lookups go through the narrow Catalog
// interface declared here.
//
// Transitions are declared once in Events (states.go) and applied on a
// looplab/fsm machine rebuilt for every hop; the handlers in this file only
// decide which event an input means. Every screen goes through layout
// (render.go), which folds it to GSM-7 and fits it into 182 characters.
package menus

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/huduma-ke/huduma"
)

// Catalog is the read side of the service catalog the menus need.
type Catalog interface {
	SearchServices(ctx context.Context, q string, limit int) ([]huduma.Service, error)
	Categories(ctx context.Context) ([]huduma.Category, error)
	ServicesInCategory(ctx context.Context, category string, offset, limit int) ([]huduma.Service, error)
	ServiceByCode(ctx context.Context, code int) (huduma.Service, error)
	FeeBands(ctx context.Context) ([]huduma.FeeBand, error)
}

// Config holds what the menus show that is not catalog data.
type Config struct {
	// ServiceCode is the USSD code shown in the main menu title.
	ServiceCode string
	// SearchLimit caps how many search results are paged through.
	SearchLimit int
	// Paybill is the paybill number shown for paying by hand.
	Paybill string
}

// Machine runs the journey for any number of sessions; it keeps no state
// of its own between calls.
type Machine struct {
	cat Catalog
	pay Payments
	cfg Config
}

// New returns a Machine reading the catalog through cat. With pay nil the
// payment items are not offered (a catalog-only deployment).
func New(cat Catalog, pay Payments, cfg Config) *Machine {
	if cfg.ServiceCode == "" {
		cfg.ServiceCode = "*2222#"
	}
	if cfg.SearchLimit <= 0 {
		cfg.SearchLimit = 30
	}
	if cfg.Paybill == "" {
		cfg.Paybill = "222222"
	}
	return &Machine{cat: cat, pay: pay, cfg: cfg}
}

// pageSize caps the items offered on one page, so choices stay single digits.
const pageSize = 9

// Session is the menu part of a USSD session: the state name plus the
// little context needed to interpret the next input and redraw the screen.
// Short JSON names keep a whole session well under 1 KB in Redis.
type Session struct {
	State string          `json:"s"`
	Lang  huduma.Language `json:"l"`
	Query string          `json:"q,omitempty"`
	// Category is the category being browsed; Service the one on screen.
	Category string `json:"c,omitempty"`
	Service  int    `json:"v,omitempty"`
	// From is the state the service screen was opened from (0 returns there).
	From string `json:"f,omitempty"`
	// Offset is where the current list page starts; Prev holds the offsets
	// of earlier pages so 0 goes back a page.
	Offset int   `json:"o,omitempty"`
	Prev   []int `json:"p,omitempty"`
	// CatOffset/CatPrev remember the category list's page while inside a
	// category.
	CatOffset int   `json:"co,omitempty"`
	CatPrev   []int `json:"cp,omitempty"`
	// Items are the keys (service or category codes) of the list entries
	// on screen, in order; More is whether "98. More" was offered.
	Items []string `json:"i,omitempty"`
	More  bool     `json:"m,omitempty"`
	// Field is the declared input being asked; Values the ones collected.
	Field  int               `json:"fd,omitempty"`
	Values map[string]string `json:"vl,omitempty"`
	Payer  string            `json:"py,omitempty"`
	// PayFor is where "pay from another number" came from (confirm or
	// invoice); Invoice the invoice on screen; Done the END text.
	PayFor  string `json:"pf,omitempty"`
	Invoice string `json:"iv,omitempty"`
	Done    string `json:"dn,omitempty"`
	// picked is the key of the list entry just chosen (not stored).
	picked string
}

// Env is what a hop knows about its caller.
type Env struct {
	Phone     huduma.MSISDN
	SessionID string
}

// outcome is what an input means: the event to fire and, when the input
// was refused, the reason shown above the same screen.
type outcome struct {
	event  string
	reason string
	note   string
}

func invalid(reason string) outcome { return outcome{event: EventInvalid, reason: reason} }

// Start shows the main menu of a new session.
func (m *Machine) Start(ctx context.Context, s *Session, env Env) (huduma.Reply, error) {
	lang := s.Lang
	*s = Session{State: StateMain, Lang: lang}
	return m.render(ctx, s, env, "")
}

// Step interprets input on the current screen, moves the session and
// returns the next screen. Refused input re-shows the same screen with a
// one-line reason; it never ends the session.
func (m *Machine) Step(ctx context.Context, s *Session, env Env, input string) (huduma.Reply, error) {
	if s.State == "" {
		return m.Start(ctx, s, env)
	}
	input = strings.TrimSpace(input)
	var out outcome
	if input == "00" && s.State != StateMain {
		out = outcome{event: EventHome}
	} else {
		var err error
		if out, err = m.handle(ctx, s, env, input); err != nil {
			return huduma.Reply{}, err
		}
	}
	next, err := transition(ctx, s.State, out.event)
	if err != nil {
		return huduma.Reply{}, err
	}
	s.State = next
	if out.event == EventHome {
		*s = Session{State: StateMain, Lang: s.Lang}
	}
	msg := out.reason
	if msg == "" {
		msg = out.note
	}
	return m.render(ctx, s, env, msg)
}

func (m *Machine) handle(ctx context.Context, s *Session, env Env, in string) (outcome, error) {
	lang := s.Lang
	switch s.State {
	case StateMain:
		switch {
		case in == "1":
			return outcome{event: EventFind}, nil
		case in == "6":
			return outcome{event: EventLanguage}, nil
		case in == "2" && m.pay != nil:
			return outcome{event: EventPayInvoice}, nil
		case in == "3" && m.pay != nil:
			return outcome{event: EventCheckStatus}, nil
		case in == "5" && m.pay != nil:
			return outcome{event: EventTrack}, nil
		case in == "4" && m.pay != nil:
			s.Offset, s.Prev = 0, nil
			return outcome{event: EventMyInvoices}, nil
		}
	case StateFind:
		switch in {
		case "1":
			return outcome{event: EventSearch}, nil
		case "2":
			s.Offset, s.Prev = 0, nil
			return outcome{event: EventBrowse}, nil
		case "3":
			return outcome{event: EventEnterCode}, nil
		case "0":
			return outcome{event: EventBack}, nil
		}
	case StateLanguage:
		switch in {
		case "1", "2":
			s.Lang = huduma.English
			if in == "2" {
				s.Lang = huduma.Kiswahili
			}
			return outcome{event: EventSetLanguage, note: tLangSet.T(s.Lang)}, nil
		case "0":
			return outcome{event: EventBack}, nil
		}
	case StateSearch:
		return m.handleSearch(ctx, s, in)
	case StateCode:
		return m.handleCode(ctx, s, in)
	case StateSearchResults, StateCategories, StateCategoryServices:
		return m.handleList(s, in), nil
	case StateService:
		return m.handleService(ctx, s, env, in)
	case StateInput:
		return m.handleInput(ctx, s, in)
	case StateConfirm:
		return m.handleConfirm(ctx, s, env, in)
	case StateOtherPhone:
		return m.handleOtherPhone(ctx, s, env, in)
	case StateInvoiceNumber:
		return m.handleInvoiceNumber(ctx, s, in)
	case StateInvoice:
		return m.handleInvoice(ctx, s, env, in)
	case StateMyInvoices:
		return m.handleMyInvoices(s, in), nil
	case StateTrackNumber:
		return m.handleTrack(ctx, s, in)
	}
	return invalid(tInvalidChoice.T(lang)), nil
}

func (m *Machine) handleSearch(ctx context.Context, s *Session, in string) (outcome, error) {
	if in == "0" {
		return outcome{event: EventBack}, nil
	}
	q := strings.Join(strings.Fields(in), " ")
	if len([]rune(q)) < 2 {
		return invalid(tQueryShort.T(s.Lang)), nil
	}
	if len(q) > 40 {
		q = q[:40]
	}
	found, err := m.cat.SearchServices(ctx, q, 1)
	if err != nil {
		return outcome{}, fmt.Errorf("search services: %w", err)
	}
	if len(found) == 0 {
		return invalid(tNoMatch.T(s.Lang)), nil
	}
	s.Query, s.Offset, s.Prev = q, 0, nil
	return outcome{event: EventResults}, nil
}

func (m *Machine) handleCode(ctx context.Context, s *Session, in string) (outcome, error) {
	if in == "0" {
		return outcome{event: EventBack}, nil
	}
	code, err := strconv.Atoi(in)
	if err != nil || code <= 0 || len(in) > 8 {
		return invalid(tCodeDigits.T(s.Lang)), nil
	}
	if _, err := m.cat.ServiceByCode(ctx, code); err != nil {
		if huduma.ErrorCode(err) == huduma.ENotFound {
			return invalid(tNoCode.F(s.Lang, code)), nil
		}
		return outcome{}, fmt.Errorf("look up service code: %w", err)
	}
	s.Service, s.From = code, StateCode
	return outcome{event: EventOpenService}, nil
}

// handleList interprets input on any paged list: a number picks an item,
// 98 pages forward, 0 pages back or leaves the list.
func (m *Machine) handleList(s *Session, in string) outcome {
	switch in {
	case "98":
		if !s.More {
			return invalid(tNoMore.T(s.Lang))
		}
		s.Prev = append(s.Prev, s.Offset)
		s.Offset += len(s.Items)
		return outcome{event: EventMore}
	case "0":
		if n := len(s.Prev); n > 0 {
			s.Offset, s.Prev = s.Prev[n-1], s.Prev[:n-1]
			return outcome{event: EventPageBack}
		}
		if s.State == StateCategoryServices {
			s.Offset, s.Prev = s.CatOffset, s.CatPrev
		}
		return outcome{event: EventBack}
	}
	n, err := strconv.Atoi(in)
	if err != nil || n < 1 || n > len(s.Items) {
		return invalid(tInvalidChoice.T(s.Lang))
	}
	key := s.Items[n-1]
	s.picked = key
	if s.State == StateCategories {
		s.Category = key
		s.CatOffset, s.CatPrev = s.Offset, s.Prev
		s.Offset, s.Prev = 0, nil
		return outcome{event: EventOpenCategory}
	}
	code, _ := strconv.Atoi(key)
	s.Service, s.From = code, s.State
	return outcome{event: EventOpenService}
}
