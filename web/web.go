// Package web is Huduma's HTTP edge, the only package that knows fiber.
// It decodes each request into plain values, hands them to a provider or
// the domain, and writes the answer; nothing from *fiber.Ctx outlives a
// handler. Provider callbacks sit behind the shared callback-token check.
package web

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/ratelimit"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/texts"
)

// HopHandler answers USSD hops (the ussd engine).
type HopHandler interface {
	HandleHop(ctx context.Context, hop huduma.Hop) (huduma.Reply, error)
}

// EventRecorder stores aggregator end-of-session notifications.
type EventRecorder interface {
	RecordSessionEvent(ctx context.Context, e huduma.SessionEvent) error
}

// Pinger is a backend readiness check.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Metrics records the edge's series and serves every series at
// GET /metrics (package metrics; the edge never sees Prometheus itself).
type Metrics interface {
	// Handler serves the scrape.
	Handler() http.Handler
	// Hop counts a USSD hop: the screen shown (a menu state name) and
	// the outcome (ok, end, invalid_request, error, rate_limited, late).
	Hop(provider, screen, outcome string, took time.Duration)
	// Callback counts a provider callback: its route's fixed name, the
	// outcome (accepted, rejected) and the reason (providers.Reason*, or
	// unauthorized for a bad token).
	Callback(route, outcome, reason string)
}

type nopMetrics struct{}

func (nopMetrics) Handler() http.Handler                     { return http.NotFoundHandler() }
func (nopMetrics) Hop(string, string, string, time.Duration) {}
func (nopMetrics) Callback(string, string, string)           {}

// Config holds the edge's settings.
type Config struct {
	// CallbackToken, when set, must arrive as ?token= on every provider
	// callback; requests without it get 403 and change nothing.
	CallbackToken string
	// HopTimeout bounds one USSD hop (2 s, well inside the aggregators'
	// 15 s, so a slow backend gets the caller a clear END rather than a
	// dropped session). Work still running
	// then carries on in the background for up to WorkTimeout, and its
	// result goes to the caller by SMS (Deps.Late).
	HopTimeout  time.Duration
	WorkTimeout time.Duration
	// BodyLimit caps request bodies in bytes.
	BodyLimit int
	// HopsPerMinute caps USSD hops per phone (0 = no limit); HopBurst is
	// how many may come at once.
	HopsPerMinute float64
	HopBurst      int
	// APIPerMinute caps agency API calls per key (0 = no limit).
	APIPerMinute float64
	APIBurst     int
	// DefaultLanguage is what the edge's own replies (busy, late, slow
	// down) are in for a phone it has not served yet.
	DefaultLanguage huduma.Language
	// Simulated names what the gateway fakes ("payments", "sms"), which
	// /readyz shows so nobody takes a simulated gateway for a real one.
	Simulated []string
	// MetricsElsewhere leaves /metrics off this server (404): it is
	// served on a listener of its own (HUDUMA_METRICS_ADDR).
	MetricsElsewhere bool
}

// LateNotifier texts a caller the screen a hop produced after its
// deadline had passed (the reply had already gone), at most once per
// session however many of its hops are late.
type LateNotifier interface {
	Late(ctx context.Context, hop huduma.Hop, reply huduma.Reply) error
}

// Deps are the domain services the edge calls.
type Deps struct {
	// USSD are the aggregators whose hop routes are mounted
	// (/ussd/<name>); nil means every registered one.
	USSD    []providers.USSD
	Late    LateNotifier
	Hops    HopHandler
	Events  EventRecorder
	Pingers map[string]Pinger
	// Metrics records hops and callbacks and serves /metrics (nil: none,
	// and /metrics is not mounted).
	Metrics Metrics
}

// Server is the HTTP edge.
type Server struct {
	app     *fiber.App
	cfg     Config
	deps    Deps
	log     *slog.Logger
	metrics Metrics
	hops    *ratelimit.Keyed
	api     *ratelimit.Keyed
	langs   *languageMemo
	// workers run the hops' work (hopWithDeadline).
	workers *hopWorkers
	// hopRoutes are the mounted USSD hop paths, so a request the
	// framework refuses before any handler (a body too large) is still
	// answered in the aggregator's format.
	hopRoutes map[string]providers.USSD
	// refusals paces the log of callbacks refused for their token.
	refusals *refusalLog
	// token is cfg.CallbackToken as bytes, converted once.
	token []byte
	now   func() time.Time
}

// New builds the server and mounts every registered USSD provider.
func New(cfg Config, deps Deps, log *slog.Logger) *Server {
	if cfg.HopTimeout <= 0 {
		cfg.HopTimeout = 2 * time.Second
	}
	if cfg.WorkTimeout <= cfg.HopTimeout {
		cfg.WorkTimeout = 30 * time.Second
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 64 << 10
	}
	if cfg.DefaultLanguage == "" {
		cfg.DefaultLanguage = huduma.English
	}
	s := &Server{cfg: cfg, deps: deps, log: log.With("comp", "web"), metrics: deps.Metrics,
		hops: ratelimit.New(cfg.HopsPerMinute, cfg.HopBurst), api: ratelimit.New(cfg.APIPerMinute, cfg.APIBurst), langs: newLanguageMemo(),
		hopRoutes: map[string]providers.USSD{}, refusals: newRefusalLog(time.Minute, 4096), token: []byte(cfg.CallbackToken), now: time.Now}
	s.workers = newHopWorkers(s.safeHop)
	s.app = fiber.New(fiber.Config{
		// Immutable copies request values, so nothing we keep aliases a
		// buffer fasthttp reuses for the next request.
		Immutable:             true,
		BodyLimit:             cfg.BodyLimit,
		DisableStartupMessage: true,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          10 * time.Second,
		IdleTimeout:           60 * time.Second,
		ErrorHandler:          s.errorHandler,
	})
	s.app.Use(s.recover)
	s.app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	s.app.Get("/readyz", s.ready)
	if s.metrics != nil && !cfg.MetricsElsewhere {
		s.app.Get("/metrics", adaptor.HTTPHandler(s.metrics.Handler()))
	}
	if s.metrics == nil {
		s.metrics = nopMetrics{}
	}
	if deps.USSD == nil {
		deps.USSD = providers.USSDProviders()
	}
	for _, p := range deps.USSD {
		methods := []string{http.MethodPost}
		if m, ok := p.(providers.Methods); ok {
			methods = m.Methods()
		}
		// Hops are counted by hopHandler (the USSD funnel); as callbacks
		// only when refused for their token.
		for _, m := range methods {
			s.mount(m, "/ussd/"+p.Name(), routeUSSD, false, hopHeaders(p), s.hopHandler(p))
		}
		s.hopRoutes["/ussd/"+p.Name()] = p
		if ev, ok := p.(providers.SessionEvents); ok {
			s.mount(http.MethodPost, "/ussd/"+p.Name()+"/events", routeUSSDEvents, true, allHeaders, s.eventHandler(ev))
		}
	}
	return s
}

// App returns the fiber app, for tests (app.Test) and extra routes.
func (s *Server) App() *fiber.App { return s.app }

// Listen serves on addr until Shutdown.
func (s *Server) Listen(addr string) error { return s.app.Listen(addr) }

// Serve serves on a bound listener until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for in-flight requests
// until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }

// Callback mounts a provider callback route behind the token check. The
// handler receives the request as plain values with the token removed.
// Its callbacks are counted under route "other"; Mount names the route.
func (s *Server) Callback(method, path string, h func(ctx context.Context, r providers.Request) providers.Response) {
	s.mount(method, path, "other", true, allHeaders, h)
}

// Mount mounts a provider's callback route (as Callback), counted in the
// callback metrics under the route's Name.
func (s *Server) Mount(r providers.Route) {
	name := r.Name
	if name == "" {
		name = "other"
	}
	s.mount(r.Method, r.Path, name, true, allHeaders, r.Handle)
}

// The callback metrics' route names of the USSD routes, whose hops are
// counted as callbacks only when refused for their token.
const (
	routeUSSD       = "ussd"
	routeUSSDEvents = "ussd_events"
)

// mount adds a route behind the token check, whose handler gets the
// headers hdrs says. Every refusal is counted under route; counted also
// counts each accepted callback by outcome and reason.
func (s *Server) mount(method, path, route string, counted bool, hdrs headerSet, h func(ctx context.Context, r providers.Request) providers.Response) {
	s.app.Add(method, path, func(c *fiber.Ctx) error {
		if !s.tokenOK(c) {
			return s.refuse(c, route, path)
		}
		resp := h(c.UserContext(), request(c, hdrs))
		if counted {
			outcome, reason := callbackVerdict(resp)
			s.metrics.Callback(route, outcome, reason)
		}
		return write(c, resp)
	})
}

// write sends a provider's response.
func write(c *fiber.Ctx, resp providers.Response) error {
	if resp.ContentType != "" {
		c.Set(fiber.HeaderContentType, resp.ContentType)
	}
	return c.Status(resp.Status).Send(resp.Body)
}

// callbackVerdict is a callback's outcome and reason for the metrics: the
// handler's Reason, else what the status says.
func callbackVerdict(r providers.Response) (outcome, reason string) {
	reason = r.Reason
	if reason == "" {
		switch {
		case r.Status >= 500:
			reason = providers.ReasonError
		case r.Status >= 400:
			reason = providers.ReasonMalformed
		default:
			reason = providers.ReasonOK
		}
	}
	switch reason {
	case providers.ReasonOK, providers.ReasonUnknown, providers.ReasonDuplicate:
		return "accepted", reason
	}
	return "rejected", reason
}

func (s *Server) tokenOK(c *fiber.Ctx) bool {
	if s.cfg.CallbackToken == "" {
		return true
	}
	// The raw bytes: c.Query would copy them (Immutable) on every hop.
	got := c.Context().QueryArgs().Peek("token")
	return subtle.ConstantTimeCompare(got, s.token) == 1
}

// refuse answers a callback whose token is wrong or missing: 403,
// counted as rejected/unauthorized, and logged once per route and
// source a minute (with how many were refused quietly since), so an
// aggregator's engineer who registered the wrong URL can see why
// without a flood of lines. The log names the route's pattern, never
// the URL as sent, so neither the token nor anything else in the query
// reaches it.
func (s *Server) refuse(c *fiber.Ctx, route, path string) error {
	s.metrics.Callback(route, "rejected", "unauthorized")
	source := c.IP()
	if ok, quiet := s.refusals.allow(path, source, s.now()); ok {
		s.log.Warn("callback refused: wrong or missing token; the URL registered with the provider must end in ?token=<HUDUMA_CALLBACK_TOKEN>",
			"route", path, "method", c.Method(), "source", source, "reason", tokenProblem(c), "refused_quietly_since", quiet)
	}
	return c.Status(http.StatusForbidden).SendString("forbidden")
}

// tokenProblem says what was wrong with a refused request's token,
// without its value.
func tokenProblem(c *fiber.Ctx) string {
	if c.Context().QueryArgs().Has("token") {
		if c.Query("token") == "" {
			return "empty token"
		}
		return "wrong token"
	}
	for _, h := range []string{fiber.HeaderAuthorization, "X-Token", "X-Callback-Token", "Token"} {
		if c.Get(h) != "" {
			return "no token in the URL (a " + h + " header came instead; the token goes in the query string)"
		}
	}
	return "no token in the URL"
}

// headerSet says which request headers a route's handler receives.
type headerSet struct {
	// all: every header (callbacks, whose handlers may read any).
	all bool
	// names: only these (a USSD hop: what its provider reads).
	names []string
}

// allHeaders is the header set of a callback route.
var allHeaders = headerSet{all: true}

// hopHeaders is the header set of p's hop route: only what p names
// (providers.HopHeaders), since no aggregator we speak needs more and
// copying every header cost each hop a dozen allocations.
func hopHeaders(p providers.USSD) headerSet {
	if h, ok := p.(providers.HopHeaders); ok {
		return headerSet{names: h.HopHeaders()}
	}
	return headerSet{}
}

// request copies a fiber request into plain values, with the headers
// hdrs says. Nothing in it aliases fasthttp's buffers, which are reused
// for the next request: every value is copied once, out of the raw
// request rather than through fiber's accessors, which (Immutable) would
// copy each value they return a second time. Empty maps are left nil.
func request(c *fiber.Ctx, hdrs headerSet) providers.Request {
	fc := c.Context()
	r := providers.Request{Method: c.Method()}
	fc.QueryArgs().VisitAll(func(k, v []byte) {
		if string(k) != "token" {
			if r.Query == nil {
				r.Query = url.Values{}
			}
			r.Query.Add(string(k), string(v))
		}
	})
	switch {
	case hdrs.all:
		r.Header = http.Header{}
		fc.Request.Header.VisitAll(func(k, v []byte) { r.Header.Add(string(k), string(v)) })
	case len(hdrs.names) > 0:
		for _, name := range hdrs.names {
			for _, v := range fc.Request.Header.PeekAll(name) {
				if r.Header == nil {
					r.Header = http.Header{}
				}
				r.Header.Add(name, string(v))
			}
		}
	}
	var body string
	if len(fc.Request.Header.Peek(fiber.HeaderContentEncoding)) > 0 {
		// fiber decodes a compressed body (gzip, deflate, br).
		r.Body = append([]byte(nil), c.Body()...)
		body = string(r.Body)
	} else {
		// One copy as a string, for the form's values to share, and one
		// as the bytes a provider may read.
		body = string(fc.Request.Body())
		r.Body = []byte(body)
	}
	// Media types are case-insensitive (RFC 9110 §8.3.1), but fasthttp only
	// parses a form sent as exactly "application/x-www-form-urlencoded",
	// so the body is parsed here.
	if ct := fc.Request.Header.ContentType(); len(ct) == 0 || len(ct) >= len(formMIME) && bytes.EqualFold(ct[:len(formMIME)], formMIME) {
		// A malformed pair is skipped; the rest is kept, as fasthttp would.
		r.Form = parseForm(body)
	}
	return r
}

// formMIME is the form media type, as bytes to compare a Content-Type
// with (a conversion at each comparison would allocate: it is over 32
// bytes).
var formMIME = []byte(fiber.MIMEApplicationForm)

// maxQuickForm is the most pairs parseForm parses itself; a larger body
// is left to url.ParseQuery (and its limit on the number of pairs).
const maxQuickForm = 64

// parseForm parses a form body exactly as url.ParseQuery does (the same
// pairs kept, the same malformed ones skipped, the error dropped), but
// with fewer allocations: values that need no unescaping are substrings
// of body, as there, and the value slices of the first appearance of
// each key are windows of one array rather than one allocation each. A
// window's capacity is 1, so a repeated key's append copies its values
// out rather than overwriting its neighbour. An empty body gives nil.
func parseForm(body string) url.Values {
	if body == "" {
		return nil
	}
	n := strings.Count(body, "&") + 1
	if n > maxQuickForm {
		f, _ := url.ParseQuery(body)
		return f
	}
	f := make(url.Values, n)
	vals := make([]string, n)
	used := 0
	for body != "" {
		var pair string
		pair, body, _ = strings.Cut(body, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		key, value, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(key)
		if err != nil {
			continue
		}
		if value, err = url.QueryUnescape(value); err != nil {
			continue
		}
		if old, ok := f[key]; ok {
			f[key] = append(old, value)
			continue
		}
		vals[used] = value
		f[key] = vals[used : used+1 : used+1]
		used++
	}
	return f
}

func (s *Server) hopHandler(p providers.USSD) func(ctx context.Context, r providers.Request) providers.Response {
	return func(ctx context.Context, r providers.Request) providers.Response {
		start := time.Now()
		hop, err := p.DecodeHop(r)
		if err != nil {
			return s.unreadableHop(ctx, p, err, start)
		}
		// The edge's own replies are in the language the phone last used
		// here; the session store is not read for them.
		lang := s.langs.get(hop.MSISDN, s.cfg.DefaultLanguage)
		if ok, _ := s.hops.Allow(string(hop.MSISDN), start); !ok {
			// 200 with END, so the aggregator shows the text; the session
			// store is not touched.
			s.metrics.Hop(p.Name(), "rate_limited", "rate_limited", time.Since(start))
			return p.EncodeReply(huduma.Reply{Text: texts.SlowDown.T(lang), End: true, Screen: "rate_limited", Lang: lang})
		}
		reply, err, late := s.hopWithDeadline(ctx, hop)
		if late {
			s.metrics.Hop(p.Name(), "late", "late", time.Since(start))
			return p.EncodeReply(huduma.Reply{Text: texts.Late.T(lang), End: true, Screen: "late", Lang: lang})
		}
		outcome := "ok"
		switch {
		case err != nil:
			outcome = "error"
			s.log.ErrorContext(ctx, "hop failed", "provider", p.Name(), "session", hop.SessionID, "error", err)
			reply = huduma.Reply{Text: texts.Busy.T(lang), End: true, Screen: "busy", Lang: lang}
		case reply.End:
			outcome = "end"
		}
		if reply.Lang != "" {
			s.langs.put(hop.MSISDN, reply.Lang)
		}
		s.metrics.Hop(p.Name(), reply.Screen, outcome, time.Since(start))
		return p.EncodeReply(reply)
	}
}

// unreadableHop answers a hop that cannot be read in the provider's
// format (for the text aggregators, 200 with an END the subscriber
// sees), logs why and counts it as invalid_request.
func (s *Server) unreadableHop(ctx context.Context, p providers.USSD, err error, start time.Time) providers.Response {
	s.metrics.Hop(p.Name(), "", "invalid_request", time.Since(start))
	s.log.InfoContext(ctx, "bad ussd request", "provider", p.Name(), "error", huduma.ErrorMessage(err))
	return p.EncodeError(err)
}

type hopResult struct {
	reply huduma.Reply
	err   error
}

// hopWithDeadline runs the hop with up to WorkTimeout, but answers within
// HopTimeout: when the work is slower (a slow database, a long search),
// it reports late, and the work finishes in the background and its screen
// goes to the caller by SMS. The session is saved as usual, so a redial
// can resume from it. The work runs on a hop worker (hopwork.go).
func (s *Server) hopWithDeadline(ctx context.Context, hop huduma.Hop) (huduma.Reply, error, bool) {
	// The work outlives the request when late, so it must not end with
	// it; a context that can never end (fiber's default, Background)
	// needs no WithoutCancel wrapper, which saves an allocation a hop.
	parent := ctx
	if _, ok := ctx.Deadline(); ok || ctx.Done() != nil {
		parent = context.WithoutCancel(ctx)
	}
	work, cancel := context.WithTimeout(parent, s.cfg.WorkTimeout)
	done := hopDone.Get().(chan hopResult)
	s.workers.start(hopJob{ctx: work, cancel: cancel, hop: hop, done: done})
	timer := startTimer(s.cfg.HopTimeout)
	select {
	case r := <-done:
		stopTimer(timer)
		hopDone.Put(done)
		return r.reply, r.err, false
	case <-timer.C:
		stopTimer(timer)
	}
	go func() {
		r := <-done
		hopDone.Put(done)
		switch {
		case r.err != nil:
			s.log.Error("late hop failed", "session", hop.SessionID, "error", r.err)
		case s.deps.Late == nil:
			s.log.Warn("late hop finished but nothing can text it", "session", hop.SessionID)
		default:
			if r.reply.Lang != "" {
				s.langs.put(hop.MSISDN, r.reply.Lang)
			}
			if err := s.deps.Late.Late(context.WithoutCancel(ctx), hop, r.reply); err != nil {
				s.log.Error("text late hop result", "session", hop.SessionID, "error", err)
			}
		}
	}()
	return huduma.Reply{}, nil, true
}

// safeHop turns a panic in the domain into an error, so the caller still
// gets a clean END screen rather than a dropped connection.
func (s *Server) safeHop(ctx context.Context, hop huduma.Hop) (reply huduma.Reply, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in hop: %v", r)
		}
	}()
	return s.deps.Hops.HandleHop(ctx, hop)
}

func (s *Server) eventHandler(p providers.SessionEvents) func(ctx context.Context, r providers.Request) providers.Response {
	return func(ctx context.Context, r providers.Request) providers.Response {
		ev, err := p.DecodeEvent(r)
		if err != nil {
			return providers.Response{Status: http.StatusBadRequest, ContentType: "text/plain", Body: []byte(err.Error())}
		}
		if err := s.deps.Events.RecordSessionEvent(ctx, ev); err != nil {
			// Non-2xx makes the aggregator retry later.
			s.log.ErrorContext(ctx, "record session event failed", "session", ev.SessionID, "error", err)
			return providers.Response{Status: http.StatusInternalServerError, ContentType: "text/plain", Body: []byte("try again")}
		}
		return providers.Response{Status: http.StatusOK, ContentType: "text/plain", Body: []byte("OK")}
	}
}

func (s *Server) ready(c *fiber.Ctx) error {
	names := make([]string, 0, len(s.deps.Pingers))
	for n := range s.deps.Pingers {
		names = append(names, n)
	}
	sort.Strings(names)
	status, code := map[string]string{}, http.StatusOK
	for _, n := range names {
		ctx, cancel := context.WithTimeout(c.UserContext(), time.Second)
		err := s.deps.Pingers[n].Ping(ctx)
		cancel()
		status[n] = "ok"
		if err != nil {
			status[n], code = "unavailable", http.StatusServiceUnavailable
			s.log.Warn("readiness check failed", "backend", n, "error", err)
		}
	}
	answer := map[string]any{"ready": code == http.StatusOK, "checks": status}
	if len(s.cfg.Simulated) > 0 {
		answer["simulated"] = s.cfg.Simulated
	}
	body, _ := json.Marshal(answer)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(code).Send(body)
}

func (s *Server) recover(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in handler", "path", c.Path(), "panic", fmt.Sprint(r))
			err = fiber.ErrInternalServerError
		}
	}()
	return c.Next()
}

// errorHandler answers framework errors (unknown route, body too large)
// with the status and a short plain message; a USSD hop the framework
// could not read is answered as any unreadable hop is.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	code := http.StatusInternalServerError
	if e, ok := err.(*fiber.Error); ok {
		code = e.Code
	}
	if p := s.hopRoutes[strings.TrimRight(c.Path(), "/")]; p != nil && code >= 400 && code < 500 && code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		if !s.tokenOK(c) {
			return s.refuse(c, routeUSSD, "/ussd/"+p.Name())
		}
		resp := s.unreadableHop(c.UserContext(), p, huduma.Errorf(huduma.EInvalid, "%s", strings.ToLower(http.StatusText(code))), time.Now())
		return write(c, resp)
	}
	return c.Status(code).SendString(http.StatusText(code))
}
