// Package ussd is the hop engine: it turns one decoded aggregator request
// into the next screen. For each hop it loads the session, recognises
// retries and duplicate starts, steps the menu machine with the new input,
// and saves the session with a compare-and-swap, so two racing hops of one
// session (even on two gateway processes) never lose an update.
package ussd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/menus"
	"github.com/huduma-ke/huduma/sessions"
)

// SessionStore is the part of sessions.Store the engine uses.
type SessionStore interface {
	Get(ctx context.Context, id string) (sessions.Record, error)
	Put(ctx context.Context, id string, expect int64, value []byte, ttl time.Duration) (int64, error)
	PutNote(ctx context.Context, id string, expect int64, value []byte, ttl time.Duration, note sessions.Note) (int64, error)
	GetValue(ctx context.Context, key string) ([]byte, error)
}

// Preferences remembers each phone's language.
type Preferences interface {
	Language(ctx context.Context, phone huduma.MSISDN) (huduma.Language, error)
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
	store SessionStore
	menus *menus.Machine
	prefs Preferences
	cfg   Config
	log   *slog.Logger
}

// New returns an Engine.
func New(store SessionStore, m *menus.Machine, prefs Preferences, cfg Config, log *slog.Logger) *Engine {
	if cfg.TTL <= 0 {
		cfg.TTL = 180 * time.Second
	}
	if cfg.DefaultLanguage == "" {
		cfg.DefaultLanguage = huduma.English
	}
	return &Engine{store: store, menus: m, prefs: prefs, cfg: cfg, log: log.With("comp", "ussd")}
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
	// Offer is the unfinished session this one offered to continue, until
	// the caller answers 1 (continue) or 2 (start again).
	Offer *snapshot `json:"o,omitempty"`
	// Noted is set once the phone's "latest session" pointer names this
	// session, written when it first leaves the main menu: a session that
	// never does has nothing to resume, and most hops skip the write.
	Noted bool `json:"k,omitempty"`
}

// snapshot is enough of a session to put its caller back where they were:
// the menu state with every input collected, and the screen last shown.
type snapshot struct {
	Menu   menus.Session `json:"m"`
	Reply  string        `json:"r"`
	Screen string        `json:"n"`
}

// HandleHop returns the screen for hop.
func (e *Engine) HandleHop(ctx context.Context, hop huduma.Hop) (huduma.Reply, error) {
	key := hop.Provider + ":" + hop.SessionID
	for attempt := 0; attempt < maxAttempts; attempt++ {
		var rec record
		var version int64
		got, err := e.store.Get(ctx, key)
		switch {
		case errors.Is(err, sessions.ErrNotFound):
		case err != nil:
			return huduma.Reply{}, fmt.Errorf("load session: %w", err)
		default:
			if err := json.Unmarshal(got.Value, &rec); err != nil {
				return huduma.Reply{}, fmt.Errorf("decode session: %w", err)
			}
			version = got.Version
		}
		inputs, replay := e.plan(hop, rec, version > 0)
		if replay {
			return huduma.Reply{Text: rec.Reply, End: rec.End, Screen: rec.Screen}, nil
		}
		noted := rec.Noted
		reply, langChanged, err := e.advance(ctx, &rec, version > 0, hop, inputs)
		if err != nil {
			return huduma.Reply{}, err
		}
		value, err := json.Marshal(rec)
		if err != nil {
			return huduma.Reply{}, fmt.Errorf("encode session: %w", err)
		}
		// Only a session someone might come back to outlives its idle
		// timeout, by the resume window; finished or main-menu-only ones
		// do not, which keeps Redis small.
		ttl := e.cfg.TTL
		if rec.Noted && !rec.End {
			ttl += e.cfg.ResumeWindow
		}
		if rec.Noted && !noted {
			// The session just became worth resuming: point the phone at
			// it in the same round trip as the save.
			_, err = e.store.PutNote(ctx, key, version, value, ttl,
				sessions.Note{Key: lastKey(hop.MSISDN), Value: []byte(key), TTL: e.cfg.TTL + e.cfg.ResumeWindow})
		} else {
			_, err = e.store.Put(ctx, key, version, value, ttl)
		}
		if err != nil {
			if errors.Is(err, sessions.ErrConflict) {
				continue
			}
			return huduma.Reply{}, fmt.Errorf("save session: %w", err)
		}
		if langChanged {
			if err := e.prefs.SetLanguage(ctx, hop.MSISDN, rec.Menu.Lang); err != nil {
				e.log.WarnContext(ctx, "remember language failed", "error", err)
			}
		}
		return reply, nil
	}
	return huduma.Reply{}, fmt.Errorf("save session: %d conflicting updates in a row", maxAttempts)
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

// advance applies inputs to rec (starting the session first when new),
// records the resulting screen, and reports whether the caller chose a
// new language on the way.
func (e *Engine) advance(ctx context.Context, rec *record, exists bool, hop huduma.Hop, inputs []string) (huduma.Reply, bool, error) {
	env := menus.Env{Phone: hop.MSISDN, SessionID: hop.SessionID}
	reply := huduma.Reply{Text: rec.Reply, End: rec.End, Screen: rec.Screen}
	var err error
	if !exists {
		rec.Menu.Lang = e.language(ctx, hop.MSISDN)
		extras := e.shortcut(hop.ServiceCode)
		if ex := strings.Join(extras, "*"); hop.Cumulative && ex != "" {
			if hop.Path == ex || strings.HasPrefix(hop.Path, ex+"*") {
				extras = nil // the aggregator already put them in the text
			} else if hop.Path == "" {
				rec.Path = ex // later hops may carry them again, or not
			}
		}
		if len(extras) == 0 && len(inputs) == 0 {
			rec.Offer = e.unfinished(ctx, hop.MSISDN)
		}
		if rec.Offer != nil {
			reply = huduma.Reply{Text: menus.ResumeText(rec.Menu.Lang, e.cfg.ServiceCode, ""), Screen: "resume"}
		} else if reply, err = e.menus.Start(ctx, &rec.Menu, env); err != nil {
			return huduma.Reply{}, false, fmt.Errorf("start menu: %w", err)
		}
		inputs = append(extras, inputs...)
	}
	lang := rec.Menu.Lang
	for _, in := range inputs {
		if reply.End {
			break
		}
		if rec.Offer != nil {
			if reply, err = e.answerOffer(ctx, rec, env, in); err != nil {
				return huduma.Reply{}, false, err
			}
			if rec.Offer == nil && in == "2" {
				// Started again: the old journey is given up, so the
				// pointer moves here (on save) and it is not offered again.
				rec.Noted = e.cfg.ResumeWindow > 0
			}
			continue
		}
		if reply, err = e.menus.Step(ctx, &rec.Menu, env, in); err != nil {
			return huduma.Reply{}, false, fmt.Errorf("menu step in %s: %w", rec.Menu.State, err)
		}
	}
	if !rec.Noted && e.cfg.ResumeWindow > 0 && !reply.End && rec.Offer == nil && menus.Resumable(rec.Menu.State) {
		rec.Noted = true // written with the session by HandleHop
	}
	switch {
	case !hop.Cumulative:
		rec.Path = joinPath(rec.Path, inputs)
	case exists || hop.Path != "":
		rec.Path = hop.Path
	}
	rec.Reply, rec.End, rec.Screen = reply.Text, reply.End, reply.Screen
	rec.Hops++
	return reply, rec.Menu.Lang != lang, nil
}

// shortcut returns the digits dialled after the base service code:
// *2222*3*1234567890# → ["3", "1234567890"]. A code that is not an
// extension of the base gives none.
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

// lastKey names the value that points at a phone's latest session.
func lastKey(phone huduma.MSISDN) string { return "last:" + string(phone) }

// unfinished returns the phone's previous session when it stopped midway
// (not ended, not on the main menu) and is still within the window.
func (e *Engine) unfinished(ctx context.Context, phone huduma.MSISDN) *snapshot {
	if e.cfg.ResumeWindow <= 0 {
		return nil
	}
	prev, err := e.store.GetValue(ctx, lastKey(phone))
	if err != nil || len(prev) == 0 {
		return nil
	}
	got, err := e.store.Get(ctx, string(prev))
	if err != nil {
		return nil
	}
	var rec record
	if json.Unmarshal(got.Value, &rec) != nil || rec.End || (rec.Offer == nil && !menus.Resumable(rec.Menu.State)) {
		return nil
	}
	if rec.Offer != nil {
		return rec.Offer // they dialled and left at the offer itself
	}
	return &snapshot{Menu: rec.Menu, Reply: rec.Reply, Screen: rec.Screen}
}

// answerOffer handles the reply to "1. Continue / 2. Start again".
func (e *Engine) answerOffer(ctx context.Context, rec *record, env menus.Env, in string) (huduma.Reply, error) {
	switch in {
	case "1":
		off := rec.Offer
		rec.Offer = nil
		lang := rec.Menu.Lang
		rec.Menu = off.Menu
		rec.Menu.Lang = lang
		return huduma.Reply{Text: off.Reply, Screen: off.Screen}, nil
	case "2":
		rec.Offer = nil
		reply, err := e.menus.Start(ctx, &rec.Menu, env)
		if err != nil {
			return huduma.Reply{}, fmt.Errorf("start menu: %w", err)
		}
		return reply, nil
	}
	return huduma.Reply{Text: menus.ResumeText(rec.Menu.Lang, e.cfg.ServiceCode, in), Screen: "resume"}, nil
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

func (e *Engine) language(ctx context.Context, phone huduma.MSISDN) huduma.Language {
	lang, err := e.prefs.Language(ctx, phone)
	if err != nil {
		if huduma.ErrorCode(err) != huduma.ENotFound {
			e.log.WarnContext(ctx, "load language failed; using default", "error", err)
		}
		return e.cfg.DefaultLanguage
	}
	return lang
}
