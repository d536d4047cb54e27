// Package ussd is the hop engine: it turns one decoded aggregator request
// into the next screen. For each hop it loads the session (one round
// trip, which also brings the phone's language and unfinished journey
// when the session is new), recognises retries and duplicate starts,
// steps the menu machine with the new input, and saves the session with a
// compare-and-swap (one more round trip), so two racing hops of one
// session, even on two gateway processes, never lose an update.
//
// Effects run after the save, and only for the hop that won it: the menu
// step returns intents (an SMS to send, a language to remember), each with
// a key made of the provider, the session, the phone, the hop number and
// the intent, and the engine runs them once the session is stored. The
// intents are stored with the session, so a retry of the same hop (after
// a crash between the save and the effects) runs them again, harmlessly:
// every effect is deduplicated by its key. Effects whose result the
// screen shows (the invoice on the END) are made by the menus before the
// save, idempotently under the same kind of key.
package ussd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/menus"
	"github.com/huduma-ke/huduma/sessions"
)

// SessionStore is the part of sessions.Store the engine uses.
type SessionStore interface {
	Load(ctx context.Context, k sessions.Key) (sessions.Loaded, error)
	LoadExisting(ctx context.Context, k sessions.Key) (sessions.Loaded, error)
	Save(ctx context.Context, k sessions.Key, expect int64, w sessions.Write) (int64, error)
}

// Effects runs the intents of a saved hop. Each call must be idempotent
// under its key.
type Effects interface {
	SendServiceDetails(ctx context.Context, phone huduma.MSISDN, code int, lang huduma.Language, key string) error
	ResendReceipt(ctx context.Context, number huduma.InvoiceNumber, phone huduma.MSISDN, key string) error
	// SetLanguage keeps the durable copy of the phone's language (the
	// session store holds the copy hops read).
	SetLanguage(ctx context.Context, phone huduma.MSISDN, lang huduma.Language) error
}

// Config tunes the engine.
type Config struct {
	// TTL is the idle lifetime of a session (HUDUMA_SESSION_TTL).
	TTL time.Duration
	// DefaultLanguage is used for phones that never chose one.
	DefaultLanguage huduma.Language
	// ServiceCode is the base code (*2222#); digits dialled after it
	// (*2222*3*1234567890#) are inputs, as if typed on the first screens.
	ServiceCode string
	// ResumeWindow is how long after a session's idle expiry the same
	// phone is offered to continue it (HUDUMA_RESUME_WINDOW; 0 = never).
	ResumeWindow time.Duration
}

// Engine handles hops. It is safe for concurrent use.
type Engine struct {
	store   SessionStore
	menus   *menus.Machine
	effects Effects
	cfg     Config
	log     *slog.Logger
	obs     Observer
}

// Observer hears of session store failures for metrics (package metrics
// implements it): op is "load" or "save". A lost compare-and-swap race is
// not a failure.
type Observer interface {
	SessionError(op string)
}

type nopObserver struct{}

func (nopObserver) SessionError(string) {}

// Observe names who hears of session store failures (nil: nobody).
func (e *Engine) Observe(o Observer) {
	if o == nil {
		o = nopObserver{}
	}
	e.obs = o
}

// New returns an Engine.
func New(store SessionStore, m *menus.Machine, effects Effects, cfg Config, log *slog.Logger) *Engine {
	if cfg.TTL <= 0 {
		cfg.TTL = 180 * time.Second
	}
	if cfg.DefaultLanguage == "" {
		cfg.DefaultLanguage = huduma.English
	}
	return &Engine{store: store, menus: m, effects: effects, cfg: cfg, log: log.With("comp", "ussd"), obs: nopObserver{}}
}

// maxAttempts bounds compare-and-swap retries; racing hops of one session
// are rare and few, so a handful always suffices.
const maxAttempts = 8

// maxSegments bounds how many inputs one hop may replay (an unknown
// session arriving with a long path, e.g. after our store lost it).
const maxSegments = 24

// record is what the engine stores per session.
type record struct {
	Menu menus.Session `json:"m"`
	// Path is the cumulative input path of the last hop handled.
	Path string `json:"t"`
	// Reply, End and Screen are the last screen sent, replayed on retries.
	Reply  string `json:"r"`
	End    bool   `json:"e,omitempty"`
	Screen string `json:"n"`
	Hops   int    `json:"h"`
	// Noted is set once the phone's "latest session" pointer names this
	// session, written when it first leaves the main menu: a session that
	// never does has nothing to resume, and most hops skip the write.
	Noted bool `json:"k,omitempty"`
	// Intents are the effects of the last hop, run again (deduplicated)
	// when a retry of that hop replays it.
	Intents []menus.Intent `json:"x,omitempty"`
}

// Key names the session a hop belongs to: its provider, its session id
// and its phone, so another phone presenting the same session id never
// reads or changes it.
func Key(hop huduma.Hop) sessions.Key {
	return sessions.Key{Provider: hop.Provider, Session: hop.SessionID, Phone: string(hop.MSISDN)}
}

// HandleHop returns the screen for hop.
func (e *Engine) HandleHop(ctx context.Context, hop huduma.Hop) (huduma.Reply, error) {
	key := Key(hop)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		// Only a session's first hop needs what Load brings for a new
		// session (the phone's language, its unfinished journey).
		load := e.store.LoadExisting
		if hop.Start {
			load = e.store.Load
		}
		ld, err := load(ctx, key)
		if err != nil {
			e.obs.SessionError("load")
			return huduma.Reply{}, fmt.Errorf("load session: %w", err)
		}
		var rec record
		version := ld.Record.Version
		if version > 0 {
			if rec, err = decodeRecord(ld.Record.Value); err != nil {
				return huduma.Reply{}, err
			}
		}
		inputs, replay := e.plan(hop, rec, version > 0)
		if replay {
			reply := huduma.Reply{Text: rec.Reply, End: rec.End, Screen: rec.Screen, Lang: rec.Menu.Lang}
			// A retry of the last hop: if the gateway died between the
			// save and the effects, they happen now, once.
			return reply, e.run(ctx, hop.MSISDN, rec.Intents)
		}
		noted := rec.Noted
		reply, err := e.advance(ctx, &rec, ld, version > 0, hop, inputs)
		if err != nil {
			return huduma.Reply{}, err
		}
		value := rec.encode(make([]byte, 0, 512))
		// Only a session someone might come back to outlives its idle
		// timeout, by the resume window; finished or main-menu-only ones
		// do not, which keeps Redis small.
		w := sessions.Write{Value: value, TTL: e.cfg.TTL}
		if rec.Noted && !rec.End {
			w.TTL += e.cfg.ResumeWindow
		}
		// The session just became worth resuming: point the phone at it
		// in the same round trip as the save.
		w.MarkLatest, w.LatestTTL = rec.Noted && !noted, e.cfg.TTL+e.cfg.ResumeWindow
		for _, in := range rec.Intents {
			if in.Kind == menus.IntentLanguage {
				w.Language = string(in.Lang)
			}
		}
		if _, err := e.store.Save(ctx, key, version, w); err != nil {
			if errors.Is(err, sessions.ErrConflict) {
				continue // another hop of this session won; its effects are its own
			}
			e.obs.SessionError("save")
			return huduma.Reply{}, fmt.Errorf("save session: %w", err)
		}
		return reply, e.run(ctx, hop.MSISDN, rec.Intents)
	}
	return huduma.Reply{}, fmt.Errorf("save session: %d conflicting updates in a row", maxAttempts)
}

// run carries out a saved hop's intents, each idempotent under its key.
func (e *Engine) run(ctx context.Context, phone huduma.MSISDN, intents []menus.Intent) error {
	for _, in := range intents {
		var err error
		switch in.Kind {
		case menus.IntentServiceDetails:
			err = e.effects.SendServiceDetails(ctx, phone, in.Service, in.Lang, in.Key)
		case menus.IntentReceipt:
			err = e.effects.ResendReceipt(ctx, in.Invoice, phone, in.Key)
		case menus.IntentLanguage:
			err = e.effects.SetLanguage(ctx, phone, in.Lang)
		default:
			err = fmt.Errorf("unknown intent %q", in.Kind)
		}
		if err != nil {
			return fmt.Errorf("after the save, %s: %w", in.Kind, err)
		}
	}
	return nil
}

// plan decides which inputs a hop carries beyond what the session already
// applied, or that the stored screen is to be replayed unchanged (a retry,
// a duplicate start, or a stale hop arriving after a newer one).
func (e *Engine) plan(hop huduma.Hop, rec record, exists bool) (inputs []string, replay bool) {
	if !hop.Cumulative {
		if exists && (hop.Start || rec.End) {
			return nil, true
		}
		if hop.Input == "" || (!exists && hop.Start) {
			return nil, false
		}
		return []string{hop.Input}, false
	}
	if !exists {
		return splitPath(hop.Path), false
	}
	switch {
	case rec.End, hop.Path == rec.Path, hop.Start:
		return nil, true
	case rec.Path == "":
		return splitPath(hop.Path), false
	case strings.HasPrefix(hop.Path, rec.Path+"*"):
		return splitPath(hop.Path[len(rec.Path)+1:]), false
	case strings.HasPrefix(rec.Path, hop.Path+"*"):
		return nil, true
	}
	// The path diverged from what we applied (the aggregator dropped or
	// rewrote a hop): act on the newest input only.
	return []string{hop.Input}, false
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	parts := strings.Split(p, "*")
	if len(parts) > maxSegments {
		parts = parts[len(parts)-maxSegments:]
	}
	return parts
}

// advance applies inputs to rec (starting the session first when new) and
// records the resulting screen and the intents to run after the save.
func (e *Engine) advance(ctx context.Context, rec *record, ld sessions.Loaded, exists bool, hop huduma.Hop, inputs []string) (huduma.Reply, error) {
	rec.Hops++
	rec.Intents = nil
	stem := "ussd:" + Key(hop).ID() + ":" + strconv.Itoa(rec.Hops)
	env := menus.Env{Phone: hop.MSISDN, Key: stem + ".0"}
	reply := huduma.Reply{Text: rec.Reply, End: rec.End, Screen: rec.Screen, Lang: rec.Menu.Lang}
	var err error
	if !exists {
		rec.Menu.Lang = e.cfg.DefaultLanguage
		if lang, err := huduma.ParseLanguage(ld.Language); err == nil {
			rec.Menu.Lang = lang
		}
		extras := e.shortcut(hop.ServiceCode)
		if ex := strings.Join(extras, "*"); hop.Cumulative && ex != "" {
			if hop.Path == ex || strings.HasPrefix(hop.Path, ex+"*") {
				extras = nil // the aggregator already put them in the text
			} else if hop.Path == "" {
				rec.Path = ex // later hops may carry them again, or not
			}
		}
		var snap *menus.Snapshot
		if len(extras) == 0 && len(inputs) == 0 {
			snap = e.unfinished(ld.Latest)
		}
		if snap != nil {
			reply, err = e.menus.Offer(ctx, &rec.Menu, env, *snap)
		} else {
			reply, err = e.menus.Start(ctx, &rec.Menu, env)
		}
		if err != nil {
			return huduma.Reply{}, fmt.Errorf("start menu: %w", err)
		}
		inputs = append(extras, inputs...)
	}
	for i, in := range inputs {
		if reply.End {
			break
		}
		env.Key = stem + "." + strconv.Itoa(i)
		offered := rec.Menu.State == menus.StateResume
		var intents []menus.Intent
		if reply, intents, err = e.menus.Step(ctx, &rec.Menu, env, in); err != nil {
			return huduma.Reply{}, fmt.Errorf("menu step in %s: %w", rec.Menu.State, err)
		}
		rec.Intents = append(rec.Intents, intents...)
		if offered && in == "2" && rec.Menu.State == menus.StateMain {
			// Started again: the old journey is given up, so the pointer
			// moves here (on save) and it is not offered again.
			rec.Noted = e.cfg.ResumeWindow > 0
		}
	}
	if !rec.Noted && e.cfg.ResumeWindow > 0 && !reply.End && menus.Resumable(rec.Menu.State) {
		rec.Noted = true // written with the session by HandleHop
	}
	switch {
	case !hop.Cumulative:
		rec.Path = joinPath(rec.Path, inputs)
	case exists || hop.Path != "":
		rec.Path = hop.Path
	}
	rec.Reply, rec.End, rec.Screen = reply.Text, reply.End, reply.Screen
	return reply, nil
}

// shortcut returns the digits dialled after the base service code:
// *2222*3*1234567890# → ["3", "1234567890"]. A code that is not an
// extension of the base gives none, and so does an empty one (test
// clients such as dialoguss send no serviceCode).
func (e *Engine) shortcut(dialled string) []string {
	base := strings.TrimSuffix(strings.TrimPrefix(e.cfg.ServiceCode, "*"), "#")
	code := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(dialled), "*"), "#")
	rest, ok := strings.CutPrefix(code, base+"*")
	if base == "" || !ok || rest == "" {
		return nil
	}
	parts := strings.Split(rest, "*")
	if len(parts) > 4 {
		return nil
	}
	for _, p := range parts {
		if p == "" || len(p) > 20 || strings.Trim(p, "0123456789") != "" {
			return nil
		}
	}
	return parts
}

// unfinished turns the phone's latest session, as loaded, into a resume
// offer when it stopped midway (not ended, not on the main menu).
func (e *Engine) unfinished(latest []byte) *menus.Snapshot {
	if e.cfg.ResumeWindow <= 0 || len(latest) == 0 {
		return nil
	}
	rec, err := decodeRecord(latest)
	if err != nil || rec.End {
		return nil
	}
	if rec.Menu.State == menus.StateResume && rec.Menu.Resume != nil {
		return rec.Menu.Resume // they dialled and left at the offer itself
	}
	if !menus.Resumable(rec.Menu.State) {
		return nil
	}
	return &menus.Snapshot{Menu: rec.Menu, Reply: rec.Reply, Screen: rec.Screen}
}

func joinPath(path string, inputs []string) string {
	for _, in := range inputs {
		if path == "" {
			path = in
		} else {
			path += "*" + in
		}
	}
	return path
}
