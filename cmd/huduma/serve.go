package main

import (
	"context"

	"errors"
	"fmt"
	"github.com/huduma-ke/huduma"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/huduma-ke/huduma/breaker"
	"github.com/huduma-ke/huduma/catalog"
	"github.com/huduma-ke/huduma/menus"
	"github.com/huduma-ke/huduma/messaging"
	"github.com/huduma-ke/huduma/payments"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/providers/cgi"
	"github.com/huduma-ke/huduma/providers/daraja"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
	"github.com/huduma-ke/huduma/providers/kannel"
	"github.com/huduma-ke/huduma/sessions"
	"github.com/huduma-ke/huduma/sessions/memstore"
	"github.com/huduma-ke/huduma/sessions/redisstore"
	"github.com/huduma-ke/huduma/store"
	"github.com/huduma-ke/huduma/store/ledger"
	"github.com/huduma-ke/huduma/store/pgstore"
	"github.com/huduma-ke/huduma/store/sqlitestore"
	"github.com/huduma-ke/huduma/texts"
	"github.com/huduma-ke/huduma/ussd"
	"github.com/huduma-ke/huduma/web"

	// Aggregators register themselves; adding one is one line here.
	"github.com/huduma-ke/huduma/providers/africastalking"
	_ "github.com/huduma-ke/huduma/providers/hubtel"
)

// shutdownGrace bounds how long in-flight hops may take after SIGTERM.
// A hop has a 2 s deadline, so 10 s is ample while staying well inside
// the usual 30 s a container orchestrator waits before SIGKILL.
const shutdownGrace = 10 * time.Second

// openStore opens the configured database and applies migrations.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (store.Store, error) {
	var st store.Store
	if cfg.Embedded() {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		s, err := sqlitestore.Open(ctx, filepath.Join(cfg.DataDir, "huduma.db"))
		if err != nil {
			return nil, fmt.Errorf("open embedded database: %w", err)
		}
		st = s
	} else {
		s, err := pgstore.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		st = s
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate %s: %w", st.Backend(), err)
	}
	st.SetLogger(log)
	return st, nil
}

// loadSampleIfEmpty loads the shipped sample catalog on first start, so a
// fresh install has something to search. It never touches a catalog that
// already has services.
func loadSampleIfEmpty(ctx context.Context, st store.Store, log *slog.Logger) error {
	n, err := st.ServiceCount(ctx)
	if err != nil || n > 0 {
		return err
	}
	c, err := catalog.Sample()
	if err != nil {
		return fmt.Errorf("read sample catalog: %w", err)
	}
	written, err := st.ImportCatalog(ctx, c)
	if err != nil {
		return fmt.Errorf("load sample catalog: %w", err)
	}
	log.Warn("catalog was empty: loaded the SAMPLE catalog (not official e-Citizen data); use `huduma catalog import` for the real one", "services", written)
	return nil
}

func openSessions(ctx context.Context, cfg Config) (sessions.Store, string, error) {
	if cfg.RedisURL == "" {
		return memstore.New(), "in-process", nil
	}
	s, err := redisstore.Open(ctx, cfg.RedisURL, cfg.RedisPrefix)
	if err != nil {
		return nil, "", fmt.Errorf("open redis: %w", err)
	}
	if redisstore.IsSentinelURL(cfg.RedisURL) {
		// The startup log says the primary is followed through Sentinel,
		// so an operator reading it knows a failover is handled.
		return s, "redis-sentinel", nil
	}
	return s, "redis", nil
}

// gateway is a running Huduma: its backends, services and HTTP server.
type gateway struct {
	store     store.Store
	sessions  sessions.Store
	engine    *ussd.Engine
	payments  *payments.Service
	server    *web.Server
	simulator *darajafake.Fake
	stop      context.CancelFunc
	done      chan struct{}
}

// simulatorKey and simulatorPasskey are the payment simulator's own
// credentials; it runs in process on loopback only.
const (
	simulatorKey     = "huduma-simulator"
	simulatorPasskey = "huduma-simulator-passkey"
)

// openMpesa returns the Daraja client, pointed at the real Daraja or, when
// no credentials are set, at the built-in simulator (a fake Daraja on
// loopback that calls our own callback route, so the whole payment path
// runs exactly as in production).
func openMpesa(cfg Config, log *slog.Logger) (*daraja.Client, *darajafake.Fake, error) {
	callback := cfg.PublicURL + daraja.STKCallbackPath
	if cfg.CallbackTok != "" {
		callback += "?token=" + url.QueryEscape(cfg.CallbackTok)
	}
	dc := daraja.Config{BaseURL: cfg.MpesaBaseURL, ConsumerKey: cfg.MpesaKey, ConsumerSecret: cfg.MpesaSecret,
		Passkey: cfg.MpesaPasskey, ShortCode: cfg.MpesaShort, CallbackURL: callback}
	var sim *darajafake.Fake
	if cfg.MpesaSimulated() {
		var err error
		sim, err = darajafake.Start(darajafake.Options{ConsumerKey: simulatorKey, ConsumerSecret: simulatorKey,
			Passkey: simulatorPasskey, CallbackDelay: 3 * time.Second, Log: log})
		if err != nil {
			return nil, nil, fmt.Errorf("start payment simulator: %w", err)
		}
		dc.BaseURL, dc.ConsumerKey, dc.ConsumerSecret, dc.Passkey = sim.URL(), simulatorKey, simulatorKey, simulatorPasskey
	}
	// One kept-alive connection per worker: the default transport keeps
	// two, so a busy pool would open and close connections all day.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.MpesaWorkers
	return daraja.New(dc, &http.Client{Timeout: 30 * time.Second, Transport: tr}, log), sim, nil
}

// newGateway opens the backends and builds the HTTP server.
func newGateway(ctx context.Context, cfg Config, log *slog.Logger) (*gateway, error) {
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := loadSampleIfEmpty(ctx, st, log); err != nil {
		st.Close()
		return nil, err
	}
	// The catalog goes into memory now, so no hop waits on the database
	// for it (store/memcatalog).
	if _, err := st.Categories(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	sess, sessKind, err := openSessions(ctx, cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	mp, sim, err := openMpesa(cfg, log)
	if err != nil {
		sess.Close()
		st.Close()
		return nil, err
	}
	pay := payments.New(st.Ledger(), st, guardedMpesa{breaker.New("daraja", 5, 30*time.Second), mp}, payments.Config{StkDelay: cfg.StkDelay,
		QueryAfter: cfg.QueryAfter, InvoiceTTL: cfg.InvoiceTTL, Paybill: cfg.MpesaShort, ServiceCode: cfg.ServiceCode, Retryable: retryableMpesa,
		Workers: cfg.MpesaWorkers}, log)
	secret, err := otpSecret(cfg)
	if err != nil {
		sess.Close()
		st.Close()
		return nil, err
	}
	ag := &agency{Service: pay, st: st, l: st.Ledger(), otp: messaging.NewOTP(st.Ledger(), secret)}
	var sender messaging.Sender
	smsKind := "record-only"
	if cfg.ATUsername != "" {
		at := africastalking.NewSMSClient(africastalking.SMSConfig{Username: cfg.ATUsername, APIKey: cfg.ATAPIKey,
			SenderID: cfg.ATSenderID, URL: cfg.ATSMSURL}, &http.Client{Timeout: 30 * time.Second})
		sender, smsKind = guardedSender{breaker.New("africastalking", 5, 30*time.Second), senderFunc(at.SendSMS), classifyAT}, "africastalking"
	}
	classify := classifyAT
	if cfg.KannelURL != "" {
		dlr := cfg.PublicURL + kannel.DeliveryPath
		if cfg.CallbackTok != "" {
			dlr += "?token=" + url.QueryEscape(cfg.CallbackTok)
		}
		kc := kannel.NewClient(kannel.Config{SendSMSURL: cfg.KannelURL, Username: cfg.KannelUser, Password: cfg.KannelPassword,
			From: cfg.KannelFrom, DLRURL: dlr}, &http.Client{Timeout: 30 * time.Second})
		classify = classifyKannel
		sender = guardedSender{breaker.New("kannel", 5, 30*time.Second), senderFunc(kc.Send), classifyKannel}
		smsKind = "kannel"
	}
	outbox := messaging.NewOutbox(st.Ledger(), sender, messaging.OutboxConfig{Rate: cfg.SMSRate, Backoff: cfg.SMSRetry, Classify: breakerAware(classify)}, log)
	inbox := messaging.NewInbox(st.Ledger(), messaging.InboxConfig{Paybill: cfg.MpesaShort, ServiceCode: cfg.ServiceCode}, log)
	m := menus.New(st, ag, menus.Config{ServiceCode: cfg.ServiceCode, Paybill: cfg.MpesaShort})
	if loaded, err := sess.WarmLanguages(ctx, st.Languages); err != nil {
		log.Warn("could not warm the phones' languages; hops use the default until they choose again", "error", err)
	} else if loaded {
		log.Info("phones' languages loaded into the session store")
	}
	eng := ussd.New(sess, m, hopEffects{pay, st}, ussd.Config{TTL: cfg.SessionTTL, DefaultLanguage: cfg.Language,
		ServiceCode: cfg.ServiceCode, ResumeWindow: cfg.ResumeWindow}, log)
	for _, r := range cfg.CGIRoutes {
		if err := registerCGI(r); err != nil {
			sess.Close()
			st.Close()
			return nil, err
		}
	}
	srv := web.New(web.Config{CallbackToken: cfg.CallbackTok, HopTimeout: cfg.HopDeadline, HopsPerMinute: cfg.HopRate, HopBurst: 20,
		APIPerMinute: cfg.APIRate, APIBurst: 100, DefaultLanguage: cfg.Language}, web.Deps{
		Hops:    eng,
		Late:    lateSMS{st: st, code: cfg.ServiceCode},
		Events:  st,
		Active:  sess,
		Pingers: map[string]web.Pinger{"database": st, "sessions": sess},
	}, log)
	routes := append(daraja.Routes(pay), africastalking.SMSRoutes(inbox)...)
	for _, r := range append(routes, kannel.Routes(inbox)...) {
		srv.Callback(r.Method, r.Path, r.Handle)
	}
	srv.MountAPI(ag, cfg.APIKeys)
	if cfg.SimulatorOn() {
		srv.MountSimulator(web.SimulatorConfig{ServiceCode: cfg.ServiceCode, ShowCodes: cfg.Demo()}, st.Ledger())
		log.Warn("SIMULATOR ON: anyone who can open /simulator can act as the aggregator for any phone and read any phone's texts; "+
			"it must never face the internet (HUDUMA_SIMULATOR=off turns it off)", "addr", cfg.Addr, "one_time_codes_shown", cfg.Demo())
	}
	if cfg.InsecureCallbacks {
		log.Warn("CALLBACKS UNAUTHENTICATED: HUDUMA_INSECURE_CALLBACKS=private-network, so anyone who reaches this port can post " +
			"payment confirmations and delivery reports; set HUDUMA_CALLBACK_TOKEN unless only trusted hosts can reach it")
	}
	ctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		wg.Go(func() { pay.Run(ctx, 250*time.Millisecond) })
		wg.Go(func() { outbox.Run(ctx, 250*time.Millisecond) })
		wg.Go(func() { retain(ctx, st, cfg.Retention, 6*time.Hour, log) })
		wg.Wait()
	}()
	mpesa := "daraja"
	if sim != nil {
		mpesa = "simulator"
	}
	log.Info("backends ready", "database", st.Backend(), "sessions", sessKind, "mpesa", mpesa, "sms", smsKind, "api", len(cfg.APIKeys) > 0, "simulator", cfg.SimulatorOn())
	return &gateway{store: st, sessions: sess, engine: eng, payments: pay, server: srv, simulator: sim, stop: stop, done: done}, nil
}

// retain removes personal data older than keep at start and then every
// interval (see the README's retention table).
func retain(ctx context.Context, st store.Store, keep, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		cut := time.Now().Add(-keep)
		p, err := st.Ledger().Purge(ctx, cut)
		if err == nil {
			var n int64
			n, err = st.PurgeSessionEvents(ctx, cut)
			if p != (ledger.Purged{}) || n > 0 {
				log.Info("retention: removed old personal data", "messages", p.Messages, "inbound", p.Inbound, "otps", p.OTPs,
					"callback_bodies", p.CallbackBodies, "jobs", p.Jobs, "session_events", n, "older_than", keep)
			}
		}
		if err != nil && ctx.Err() == nil {
			log.Error("retention pass failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// close stops the job worker, then the simulator and the backends.
func (g *gateway) close() {
	g.stop()
	<-g.done
	if g.simulator != nil {
		g.simulator.Close()
	}
	g.sessions.Close()
	g.store.Close()
}

// serve runs the gateway until ctx is cancelled (SIGTERM/SIGINT), then
// stops accepting connections and lets in-flight hops finish.
func serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	g, err := newGateway(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer g.close()
	if cfg.PprofAddr != "" {
		// net/http/pprof registers on the default mux; it is served only
		// here, on loopback, never on the public listener.
		go func() { log.Warn("pprof listener stopped", "error", http.ListenAndServe(cfg.PprofAddr, nil)) }()
		log.Info("pprof on", "addr", cfg.PprofAddr)
	}
	errc := make(chan error, 1)
	go func() { errc <- g.server.Listen(cfg.Addr) }()
	log.Info("huduma serving", "addr", cfg.Addr, "version", version, "public_url", cfg.PublicURL)
	select {
	case err := <-errc:
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := g.server.Shutdown(sctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// lateSMS texts the screen of a hop that finished after its deadline, in
// the caller's language, once per session: when the database is slow every
// hop of a session may be late, and one text is enough.
type lateSMS struct {
	st   store.Store
	code string
}

func (n lateSMS) Late(ctx context.Context, hop huduma.Hop, reply huduma.Reply) error {
	lang := reply.Lang
	if lang == "" {
		lang = huduma.English
	}
	return n.st.Ledger().QueueMessage(ctx, huduma.Message{To: hop.MSISDN, Kind: huduma.MessageReply, Body: texts.LateSMS(lang, n.code, reply)},
		"late:"+ussd.Key(hop).ID())
}

// hopEffects runs what a saved USSD hop asked for.
type hopEffects struct {
	*payments.Service
	prefs store.PreferenceStore
}

func (h hopEffects) SetLanguage(ctx context.Context, phone huduma.MSISDN, lang huduma.Language) error {
	return h.prefs.SetLanguage(ctx, phone, lang)
}

// registerCGI adds a configured GET-style aggregator. The registry is
// process-wide, so the same route registered again (a second gateway in
// one test process) is fine; a different one under a taken name is not.
func registerCGI(r cgi.Route) error {
	p := cgi.New(r)
	switch old := providers.LookupUSSD(r.Name); {
	case old == nil:
		providers.RegisterUSSD(p)
	case old != providers.USSD(p):
		return fmt.Errorf("HUDUMA_CGI_ROUTES: route name %q is taken by another provider", r.Name)
	}
	return nil
}

// guardedMpesa puts a circuit breaker around Daraja: five failures in a
// row (timeouts, 5xx, throttling: daraja.Outage) stop calls for 30 s, so an
// outage costs one fast error per job instead of a 30 s wait each; jobs
// retry later as usual. A prompt still being processed (a nil error) or a
// subscriber with a transaction in process is an answer from a working
// Daraja and counts as a success.
type guardedMpesa struct {
	b  *breaker.Breaker
	mp payments.Mpesa
}

func (g guardedMpesa) StkPush(ctx context.Context, p huduma.STKPush) (res huduma.STKPushResult, err error) {
	err = g.b.Do(func() error { res, err = g.mp.StkPush(ctx, p); return err }, daraja.Outage)
	return res, err
}

func (g guardedMpesa) StkQuery(ctx context.Context, id string) (res huduma.STKResult, err error) {
	err = g.b.Do(func() error { res, err = g.mp.StkQuery(ctx, id); return err }, daraja.Outage)
	return res, err
}

// retryableMpesa: Daraja's retryable errors, and an open breaker.
func retryableMpesa(err error) bool { return errors.Is(err, breaker.ErrOpen) || daraja.Retryable(err) }

// guardedSender is the same for Africa's Talking: only failures worth a
// retry count as an outage (a blacklisted number is not one).
type guardedSender struct {
	b        *breaker.Breaker
	send     messaging.Sender
	classify func(error) messaging.Verdict
}

func (g guardedSender) Send(ctx context.Context, to huduma.MSISDN, text string) (id string, err error) {
	err = g.b.Do(func() error { id, err = g.send.Send(ctx, to, text); return err }, func(err error) bool { return g.classify(err).Retry })
	return id, err
}

// senderFunc adapts a send function to messaging.Sender.
type senderFunc func(ctx context.Context, to huduma.MSISDN, text string) (string, error)

func (f senderFunc) Send(ctx context.Context, to huduma.MSISDN, text string) (string, error) {
	return f(ctx, to, text)
}
