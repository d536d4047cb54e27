// Package menus is the USSD journey: which screen follows which input,
// and what each screen says. A step is pure in the sense that matters for
// money: from the session, the input and catalog (or invoice) reads it
// returns the next screen, the new session state and a list of intents,
// the effects to run once the engine has saved the session. It never
// sends or writes anything itself, with one exception: an effect the
// screen must show (the invoice number on the END, whether a prompt was
// queued) is made before the save, idempotently, under a key derived from
// the hop (Env.Key), so a hop that loses the save race, or is retried
// after a crash, finds the same invoice or prompt instead of making a
// second one. No Redis, no HTTP, no SQL here: those sit behind Catalog
// and Payments.
//
// Each state is declared once, in the state table (states.go): its name,
// its edges, how it reads input and how it draws its screen. The table
// drives the gateway and the diagram printed by `huduma menus`. Every
// screen goes through layout (render.go), which folds it to GSM-7 and
// fits it into 182 characters; every string comes from package texts.
package menus

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/texts"
)

// Catalog is the read side of the service catalog the menus need. The
// stores answer it from memory.
type Catalog interface {
	SearchServices(ctx context.Context, q string, limit int) ([]huduma.Service, error)
	Categories(ctx context.Context) ([]huduma.Category, error)
	ServicesInCategory(ctx context.Context, category string, offset, limit int) ([]huduma.Service, error)
	ServiceByCode(ctx context.Context, code int) (huduma.Service, error)
	FeeBands(ctx context.Context) ([]huduma.FeeBand, error)
}

// Payments is what the invoice and payment screens read, plus the two
// effects a screen must show, each idempotent under its key.
type Payments interface {
	// CreateInvoice makes the invoice (with its SMS and prompt) once per
	// req.Key.
	CreateInvoice(ctx context.Context, req huduma.InvoiceRequest) (huduma.Invoice, bool, error)
	// RequestPush queues a prompt once per key; to another phone than
	// the invoice's it may be refused (ERateLimited: that phone has had
	// too many prompts from others this hour).
	RequestPush(ctx context.Context, number huduma.InvoiceNumber, payer huduma.MSISDN, key string) error
	// RequestPushByPayer queues a prompt to the session's own phone, which
	// asked for it: never refused by that cap.
	RequestPushByPayer(ctx context.Context, number huduma.InvoiceNumber, payer huduma.MSISDN, key string) error
	Invoice(ctx context.Context, number huduma.InvoiceNumber) (huduma.Invoice, error)
	InvoicesByPhone(ctx context.Context, phone huduma.MSISDN, offset, limit int) ([]huduma.Invoice, error)
	// TrackApplication finds an application by its number or by the
	// number of the invoice that opened it, phone's own first.
	TrackApplication(ctx context.Context, number string, phone huduma.MSISDN) (huduma.Application, error)
}

// Config holds what the menus show that is not catalog data.
type Config struct {
	// ServiceCode is the USSD code shown in the main menu title.
	ServiceCode string
	// SearchLimit caps how many search results are paged through.
	SearchLimit int
	// Paybill is the paybill number shown for paying by hand.
	Paybill string
	// Steps are the steps of paying by hand from each network, shown to
	// a phone no M-Pesa prompt can reach (HUDUMA_PAY_STEPS; nil: the
	// default table).
	Steps *texts.PaySteps
	// NeedServiceID shows a service without an e-Citizen service ID as
	// not payable here yet, and makes no invoice for it: on the ecitizen
	// billing backend, where such a service cannot be billed.
	NeedServiceID bool
	// Now is the clock inputs are checked against (a date of birth is
	// not after today); time.Now when nil.
	Now func() time.Time
}

// Machine runs the journey for any number of sessions; it keeps no state
// of its own between calls.
type Machine struct {
	cat Catalog
	pay Payments
	cfg Config
	// screens holds the fixed screens laid out, by state and language.
	screens sync.Map
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
	if cfg.Now == nil {
		cfg.Now = time.Now
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
	// PayFor is where "pay from another number" came from (confirm or
	// invoice); Invoice the invoice (or application) on screen; Done the
	// END text.
	PayFor  string `json:"pf,omitempty"`
	Invoice string `json:"iv,omitempty"`
	Done    string `json:"dn,omitempty"`
	// Resume is the unfinished journey offered on the resume screen.
	Resume *Snapshot `json:"r,omitempty"`
}

// Snapshot is enough of a session to put its caller back where they
// were: the menu state with every input collected, and the screen shown.
type Snapshot struct {
	Menu   Session `json:"m"`
	Reply  string  `json:"r"`
	Screen string  `json:"n"`
}

// Env is what a hop knows about its caller.
type Env struct {
	Phone huduma.MSISDN
	// Key is this hop's (and this input's) dedupe stem: provider, session,
	// phone and hop number. Effects append their kind to it.
	Key string
}

// IntentKind names an effect a step asks for.
type IntentKind string

// The effects the engine runs after the session is saved.
const (
	// IntentServiceDetails texts Service's details to the caller.
	IntentServiceDetails IntentKind = "details"
	// IntentReceipt texts Invoice's receipt again to the caller.
	IntentReceipt IntentKind = "receipt"
	// IntentLanguage remembers Lang as the caller's language.
	IntentLanguage IntentKind = "language"
)

// Intent is one effect, with the deterministic key that makes running it
// twice (a retried hop, a crash and retry) harmless.
type Intent struct {
	Kind    IntentKind           `json:"k"`
	Service int                  `json:"s,omitempty"`
	Invoice huduma.InvoiceNumber `json:"i,omitempty"`
	Lang    huduma.Language      `json:"l,omitempty"`
	Key     string               `json:"d"`
}

// outcome is what an input means: the event to fire and, when the input
// was refused, the reason shown above the same screen.
type outcome struct {
	event  string
	reason string
	note   string
	// shown, when set, is the screen as stored earlier (resume restores
	// the exact screen the caller left).
	shown *huduma.Reply
}

func invalid(reason string) outcome { return outcome{event: EventInvalid, reason: reason} }

// step is one input being applied: the session, the caller, what the
// step fetched (so each hop fetches each thing once) and the intents it
// asks for.
type step struct {
	m       *Machine
	ctx     context.Context
	s       *Session
	env     Env
	intents []Intent
	// picked is the key of the list entry just chosen.
	picked string

	found    []huduma.Service
	foundFor string
	invoice  *huduma.Invoice
	app      *huduma.Application
	service  *huduma.Service
	cats     []huduma.Category
}

// Start shows the main menu of a new session.
func (m *Machine) Start(ctx context.Context, s *Session, env Env) (huduma.Reply, error) {
	*s = Session{State: StateMain, Lang: s.Lang}
	st := &step{m: m, ctx: ctx, s: s, env: env}
	return st.render("")
}

// Offer shows the resume screen of a new session whose phone left snap
// unfinished moments ago.
func (m *Machine) Offer(ctx context.Context, s *Session, env Env, snap Snapshot) (huduma.Reply, error) {
	*s = Session{State: StateResume, Lang: s.Lang, Resume: &snap}
	st := &step{m: m, ctx: ctx, s: s, env: env}
	return st.render("")
}

// Step interprets input on the current screen, moves the session and
// returns the next screen with the effects to run once it is saved.
// Refused input re-shows the same screen with a one-line reason; it never
// ends the session.
func (m *Machine) Step(ctx context.Context, s *Session, env Env, input string) (huduma.Reply, []Intent, error) {
	if s.State == "" {
		r, err := m.Start(ctx, s, env)
		return r, nil, err
	}
	st := &step{m: m, ctx: ctx, s: s, env: env}
	def, ok := stateByName[s.State]
	if !ok {
		return huduma.Reply{}, nil, fmt.Errorf("menu state %q is not in the table", s.State)
	}
	input = strings.TrimSpace(input)
	from := s.State
	var out outcome
	switch {
	case input == "00" && homeFrom[s.State]:
		out = outcome{event: EventHome}
	case def.handle == nil:
		out = invalid(texts.InvalidChoice.T(s.Lang))
	default:
		var err error
		if out, err = def.handle(st, input); err != nil {
			return huduma.Reply{}, nil, err
		}
	}
	next, err := transition(from, out.event)
	if err != nil {
		return huduma.Reply{}, nil, err
	}
	if out.shown != nil {
		// Resume: the restored session is back in the state it left, and
		// the screen is the one it showed.
		if next != s.State {
			return huduma.Reply{}, nil, fmt.Errorf("resume went to %q, the session is in %q", next, s.State)
		}
		return *out.shown, st.intents, nil
	}
	s.State = next
	if out.event == EventHome {
		*s = Session{State: StateMain, Lang: s.Lang}
	}
	msg, keep := out.reason, 0
	if out.event == EventInvalid {
		// The same screen again: the items it showed stay on it.
		keep = len(s.Items)
	}
	if msg == "" {
		msg = out.note
	}
	r, err := st.renderKeeping(msg, keep)
	return r, st.intents, err
}

// intend records an effect for after the save.
func (st *step) intend(in Intent) {
	in.Key = st.env.Key + ":" + string(in.Kind)
	st.intents = append(st.intents, in)
}

// lang is the session's language.
func (st *step) lang() huduma.Language { return st.s.Lang }

// how is what screens need to tell a payer how to pay by hand.
func (st *step) how() texts.HowToPay {
	return texts.HowToPay{Paybill: st.m.cfg.Paybill, Steps: st.m.cfg.Steps, Billed: st.m.cfg.NeedServiceID}
}

// payable reports whether sv can be billed here: with NeedServiceID only
// a service with an e-Citizen service ID can.
func (st *step) payable(sv huduma.Service) bool {
	return !st.m.cfg.NeedServiceID || sv.ECitizenServiceID != ""
}

// serviceByCode fetches a service once per step.
func (st *step) serviceByCode(code int) (huduma.Service, error) {
	if st.service != nil && st.service.Code == code {
		return *st.service, nil
	}
	sv, err := st.m.cat.ServiceByCode(st.ctx, code)
	if err != nil {
		return huduma.Service{}, err
	}
	st.service = &sv
	return sv, nil
}

// search fetches the results for q once per step (the input's check and
// the results screen read the same list).
func (st *step) search(q string) ([]huduma.Service, error) {
	if st.found != nil && st.foundFor == q {
		return st.found, nil
	}
	found, err := st.m.cat.SearchServices(st.ctx, q, st.m.cfg.SearchLimit)
	if err != nil {
		return nil, fmt.Errorf("search services: %w", err)
	}
	if found == nil {
		found = []huduma.Service{}
	}
	st.found, st.foundFor = found, q
	return found, nil
}

// categories fetches the category list once per step.
func (st *step) categories() ([]huduma.Category, error) {
	if st.cats != nil {
		return st.cats, nil
	}
	cats, err := st.m.cat.Categories(st.ctx)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	if cats == nil {
		cats = []huduma.Category{}
	}
	st.cats = cats
	return cats, nil
}

// loadInvoice fetches an invoice once per step.
func (st *step) loadInvoice(number huduma.InvoiceNumber) (huduma.Invoice, error) {
	if st.invoice != nil && st.invoice.Number == number {
		return *st.invoice, nil
	}
	inv, err := st.m.pay.Invoice(st.ctx, number)
	if err != nil {
		return huduma.Invoice{}, err
	}
	st.invoice = &inv
	return inv, nil
}

// loadApplication fetches the application number means (its own, or
// its invoice's) once per step.
func (st *step) loadApplication(number string) (huduma.Application, error) {
	if st.app != nil && (st.app.Number == number || st.app.Invoice == number) {
		return *st.app, nil
	}
	a, err := st.m.pay.TrackApplication(st.ctx, number, st.env.Phone)
	if err != nil {
		return huduma.Application{}, err
	}
	st.app = &a
	return a, nil
}

// serviceName is the catalog's name of service code in the session's
// language, or stored (the name a record kept, in the language it was
// made in) when the catalog cannot say: a withdrawn service still has
// its invoices and applications.
func (st *step) serviceName(code int, stored string) string {
	sv, err := st.serviceByCode(code)
	if err != nil {
		return stored
	}
	return sv.Name(st.lang())
}

// render draws the screen of the session's state, with msg (a refusal
// reason or a note) as its first line, and records the list entries it
// showed.
func (st *step) render(msg string) (huduma.Reply, error) { return st.renderKeeping(msg, 0) }

// fixedScreen is a fixed state's screen, laid out on its first use in
// the caller's language.
func (st *step) fixedScreen(def *state) huduma.Reply {
	key := def.name + "/" + string(st.s.Lang)
	text, ok := st.m.screens.Load(key)
	if !ok {
		// A fixed page has no error to give: it reads nothing.
		p, _, _ := def.page(st)
		text, _ = st.m.screens.LoadOrStore(key, layout(p, st.s.Lang).text)
	}
	st.s.Items, st.s.More = nil, false
	return huduma.Reply{Text: text.(string), Screen: st.s.State, Lang: st.s.Lang}
}

// renderKeeping is render showing exactly keep list items, those of the
// screen a refusal shows again (0: as many as fit).
func (st *step) renderKeeping(msg string, keep int) (huduma.Reply, error) {
	def, ok := stateByName[st.s.State]
	if !ok || def.page == nil {
		return huduma.Reply{}, fmt.Errorf("no screen for state %q", st.s.State)
	}
	if def.fixed && msg == "" && keep == 0 {
		return st.fixedScreen(def), nil
	}
	p, keys, err := def.page(st)
	if err != nil {
		return huduma.Reply{}, err
	}
	p.reason, p.keep = msg, keep
	out := layout(p, st.s.Lang)
	if out.more && msg == texts.NoMore.T(st.s.Lang) {
		// The list grew since the screen was drawn (a new invoice): it
		// has more now, so saying it has none would be untrue.
		p.reason = ""
		out = layout(p, st.s.Lang)
	}
	if keys != nil {
		st.s.Items, st.s.More = keys[:out.shown], out.more
	} else {
		st.s.Items, st.s.More = nil, false
	}
	return huduma.Reply{Text: out.text, End: p.end, Screen: st.s.State, Lang: st.s.Lang}, nil
}
