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
		reply, langChanged, err := e.advance(ctx, &rec, version > 0, hop, inputs)
		if err != nil {
			return huduma.Reply{}, err
		}
		value, err := json.Marshal(rec)
		if err != nil {
			return huduma.Reply{}, fmt.Errorf("encode session: %w", err)
		}
		if _, err := e.store.Put(ctx, key, version, value, e.cfg.TTL); err != nil {
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
		if reply, err = e.menus.Start(ctx, &rec.Menu, env); err != nil {
			return huduma.Reply{}, false, fmt.Errorf("start menu: %w", err)
		}
	}
	lang := rec.Menu.Lang
	for _, in := range inputs {
		if reply.End {
			break
		}
		if reply, err = e.menus.Step(ctx, &rec.Menu, env, in); err != nil {
			return huduma.Reply{}, false, fmt.Errorf("menu step in %s: %w", rec.Menu.State, err)
		}
	}
	if hop.Cumulative {
		rec.Path = hop.Path
	} else {
		rec.Path = joinPath(rec.Path, inputs)
	}
	rec.Reply, rec.End, rec.Screen = reply.Text, reply.End, reply.Screen
	rec.Hops++
	return reply, rec.Menu.Lang != lang, nil
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
