package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/breaker"
	"github.com/huduma-ke/huduma/catalog"
	"github.com/huduma-ke/huduma/menus"
	"github.com/huduma-ke/huduma/metrics"
	"github.com/huduma-ke/huduma/notices"
	"github.com/huduma-ke/huduma/otp"
	"github.com/huduma-ke/huduma/outbox"
	"github.com/huduma-ke/huduma/payments"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/providers/cgi"
	"github.com/huduma-ke/huduma/providers/daraja"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
	"github.com/huduma-ke/huduma/providers/ecitizen"
	"github.com/huduma-ke/huduma/providers/ecitizen/ecitizenfake"
	"github.com/huduma-ke/huduma/sessions"
	"github.com/huduma-ke/huduma/sessions/memstore"
	"github.com/huduma-ke/huduma/sessions/redisstore"
	"github.com/huduma-ke/huduma/smschannel"
	"github.com/huduma-ke/huduma/store/pgstore"
	"github.com/huduma-ke/huduma/store/sqlitestore"
	"github.com/huduma-ke/huduma/store/sqlstore"
	"github.com/huduma-ke/huduma/ussd"
	"github.com/huduma-ke/huduma/web"

	// Providers register themselves; adding one is one line here.
	_ "github.com/huduma-ke/huduma/providers/africastalking"
	_ "github.com/huduma-ke/huduma/providers/hubtel"
	_ "github.com/huduma-ke/huduma/providers/kannel"
)

// shutdownGrace bounds how long in-flight hops may take after SIGTERM.
// A hop has a 2 s deadline, so 10 s is ample while staying well inside
// the usual 30 s a container orchestrator waits before SIGKILL.
const shutdownGrace = 10 * time.Second

// openStore opens the configured database and applies migrations.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (*sqlstore.DB, error) {
	var st *sqlstore.DB
	var err error
	if cfg.Embedded() {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		if st, err = sqlitestore.Open(ctx, filepath.Join(cfg.DataDir, "huduma.db")); err != nil {
			return nil, fmt.Errorf("open embedded database: %w", err)
		}
	} else if st, err = pgstore.Open(ctx, cfg.DatabaseURL); err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
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
func loadSampleIfEmpty(ctx context.Context, st *sqlstore.DB, log *slog.Logger) error {
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
// newGateway builds it in order; close takes it down in reverse; the
// background workers run between start and close.
type gateway struct {
	cfg      Config
	log      *slog.Logger
	store    *sqlstore.DB
	sessions sessions.Store
	engine   *ussd.Engine
	payments *payments.Service
	// mpesa is the M-Pesa rail's pull API, which the pull worker reads
	// (nil: the rail has none).
	mpesa     providers.Puller
	outbox    *outbox.Worker
	server    *web.Server
	simulator *darajafake.Fake
	// ecitizenFake is the in-process e-Citizen of the ecitizen backend
	// with HUDUMA_PAYMENTS=simulator (else nil).
	ecitizenFake *ecitizenfake.Fake
	// metrics is every series, served at /metrics.
	metrics *metrics.Set

	// closers undo what newGateway opened, last first.
	closers []func()
	stop    context.CancelFunc
	done    chan struct{}
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
	dc := daraja.Config{BaseURL: cfg.MpesaBaseURL, ConsumerKey: cfg.MpesaKey, ConsumerSecret: cfg.MpesaSecret,
		Passkey: cfg.MpesaPasskey, ShortCode: cfg.MpesaShort, CallbackURL: cfg.callbackURL(daraja.STKCallbackPath),
		Initiator: cfg.MpesaInitiator, SecurityCredential: cfg.MpesaCredential,
		ReversalResultURL: cfg.callbackURL(daraja.ReversalResultPath), ReversalTimeoutURL: cfg.callbackURL(daraja.ReversalTimeoutPath)}
	var sim *darajafake.Fake
	if cfg.MpesaSimulated() {
		var err error
		// Prompts to a number the web phone shows wait for the person's
		// answer there; the paybill form posts to our own C2B routes, as
		// registering them with Daraja would have them posted.
		sim, err = darajafake.Start(darajafake.Options{ConsumerKey: simulatorKey, ConsumerSecret: simulatorKey,
			Passkey: simulatorPasskey, CallbackDelay: 3 * time.Second, Initiator: simulatorKey, Log: log, Simulator: true,
			Interactive: true, PromptTimeout: cfg.promptTimeout, ShortCode: cfg.MpesaShort,
			ValidationURL: cfg.callbackURL(daraja.C2BValidationPath), ConfirmationURL: cfg.callbackURL(daraja.C2BConfirmPath)})
		if err != nil {
			return nil, nil, fmt.Errorf("start payment simulator: %w", err)
		}
		dc.BaseURL, dc.ConsumerKey, dc.ConsumerSecret, dc.Passkey = sim.URL(), simulatorKey, simulatorKey, simulatorPasskey
		dc.Initiator, dc.SecurityCredential = simulatorKey, simulatorKey
	}
	dc.Backoff = cfg.scaled(darajaBackoff)
	// One kept-alive connection per worker: the default transport keeps
	// two, so a busy pool would open and close connections all day.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.MpesaWorkers
	return daraja.New(dc, &http.Client{Timeout: 30 * time.Second, Transport: tr}, log), sim, nil
}

// smsInBurst is how many texts a phone may send at once before
// HUDUMA_SMS_IN_RATE paces it.
const smsInBurst = 10

// darajaBackoff is the Daraja client's first wait before retrying an
// outage itself (doubled for each of its three retries).
const darajaBackoff = 500 * time.Millisecond

// breakerCooldown is how long a provider's breaker stays open.
const breakerCooldown = 30 * time.Second

// breakerFor is the circuit breaker every provider gets: five failures
// in a row stop calls for breakerCooldown.
func breakerFor(name string, cfg Config) *breaker.Breaker {
	return breaker.New(name, 5, cfg.scaled(breakerCooldown))
}

// newGateway opens the backends and builds the services and the HTTP
// server, in order; on an error it closes what it opened, in reverse.
// Nothing runs in the background until start.
func newGateway(ctx context.Context, cfg Config, log *slog.Logger) (*gateway, error) {
	g := &gateway{cfg: cfg, log: log}
	// Not a named result: `return nil, err` would nil it before this ran.
	built := false
	defer func() {
		if !built {
			g.closeAll()
		}
	}()
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	g.store = st
	g.closers = append(g.closers, func() { st.Close() })
	if err := loadSampleIfEmpty(ctx, st, log); err != nil {
		return nil, err
	}
	// The catalog goes into memory now, so no hop waits on the database
	// for it (store/memcatalog).
	if _, err := st.Categories(ctx); err != nil {
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	sess, sessKind, err := openSessions(ctx, cfg)
	if err != nil {
		return nil, err
	}
	g.sessions = sess
	g.closers = append(g.closers, func() { sess.Close() })
	if loaded, err := sess.WarmLanguages(ctx, st.Languages); err != nil {
		log.Warn("could not warm the phones' languages; hops use the default until they choose again", "error", err)
	} else if loaded {
		log.Info("phones' languages loaded into the session store")
	}
	var rail providers.MpesaRail
	var sim *darajafake.Fake
	var ec *ecitizen.Client
	var ecCfg ecitizen.Config
	if cfg.ECitizenBilling() {
		var fake *ecitizenfake.Fake
		if ec, ecCfg, fake, err = openECitizen(cfg, log); err != nil {
			return nil, err
		}
		if fake != nil {
			g.ecitizenFake = fake
			g.closers = append(g.closers, func() { fake.Close() })
		}
		// e-Citizen sends the prompts and receives the money: no M-Pesa
		// rail, no pull, no refunds.
		rail = providers.MpesaRail{Name: "ecitizen", Mpesa: noDaraja{}}
	} else {
		if rail, sim, err = openRail(cfg, log); err != nil {
			return nil, err
		}
		if sim != nil {
			g.simulator = sim
			g.closers = append(g.closers, func() { sim.Close() })
		}
	}
	secret, err := otpSecret(cfg)
	if err != nil {
		return nil, err
	}

	// Every provider's breaker is read by the huduma_breaker_state gauge.
	breakers := map[string]metrics.Breaker{}
	darajaBreaker := breakerFor("daraja", cfg)
	breakers["daraja"] = darajaBreaker
	payCfg := payments.Config{PromptCap: cfg.PromptCap, StkDelay: cfg.StkDelay, QueryAfter: cfg.QueryAfter, InvoiceTTL: cfg.InvoiceTTL, Paybill: cfg.Paybill(),
		Steps: cfg.PaySteps, ServiceCode: cfg.ServiceCode, Workers: cfg.MpesaWorkers, CheckoutBudget: cfg.HopDeadline / 2}
	if cfg.timeScale > 0 {
		payCfg = payCfg.Scaled(cfg.timeScale)
	}
	mpesa := rail.Mpesa
	if ec == nil {
		mpesa = payments.WithBreaker(rail.Mpesa, darajaBreaker)
	}
	pay := payments.New(st, st, mpesa, payCfg, log)
	if cfg.RefundsOn() {
		pay.EnableRefunds(rail.Reverser)
	}
	if ec != nil {
		ecBreaker := breakerFor("ecitizen", cfg)
		breakers["ecitizen"] = ecBreaker
		pay.EnableBilling(payments.WithBillBreaker(ecitizen.Biller{Client: ec}, ecBreaker), st)
	}
	// The SMS channel finds, invoices and pays through the same catalog
	// and payments service as the USSD screens.
	inbox := smschannel.NewInbox(smschannel.InboxDeps{Store: st, Catalog: st, Payments: pay, Conversations: sess},
		smschannel.InboxConfig{Paybill: cfg.Paybill(), NeedServiceID: cfg.ECitizenBilling(), Steps: cfg.PaySteps, ServiceCode: cfg.ServiceCode, DefaultLanguage: cfg.Language,
			ConversationTTL: cfg.SMSTTL, PerMinute: cfg.SMSInRate, Burst: smsInBurst}, log)
	ag := &agency{Service: pay, Codes: otp.New(st, secret), AgencyTexts: notices.NewAgencyTexts(st),
		Applications: notices.NewApplications(st, st, st), catalogReads: st}
	var sender providers.SMSSender
	var smsRoutes []providers.Route
	smsKind := "record-only"
	if cfg.SMS != nil {
		s, routes, err := cfg.SMS.Open(providers.SMSEnv{Getenv: cfg.getenv, CallbackURL: cfg.callbackURL,
			HTTP: &http.Client{Timeout: 30 * time.Second}, Reports: inbox})
		if err != nil {
			return nil, err
		}
		b := breakerFor(cfg.SMS.Name, cfg)
		breakers[cfg.SMS.Name] = b
		sender, smsRoutes, smsKind = outbox.WithBreaker(s, b), routes, cfg.SMS.Name
	}
	// One-time codes wait in the outbox sealed; only the way out opens them.
	seal := otp.NewSealer(secret)
	sender = otp.Unsealing(sender, seal)
	// One metrics set hears every package's events; the store tells it
	// of changes only once they commit.
	mx := metrics.New(metrics.Options{SMSProvider: smsKind, Active: sess, Queues: st, Breakers: breakers, Simulated: cfg.Simulated(),
		Log: log.With("comp", "metrics")})
	st.SetObserver(mx)
	pay.Observe(mx)
	g.metrics = mx
	sms := outbox.New(st, sender, outbox.Config{Rate: cfg.SMSRate, Backoff: cfg.SMSRetry}, log)
	sms.Observe(mx)
	m := menus.New(st, ag, menus.Config{ServiceCode: cfg.ServiceCode, Paybill: cfg.Paybill(), Steps: cfg.PaySteps,
		NeedServiceID: cfg.ECitizenBilling()})
	eng := ussd.New(sess, m, hopEffects{pay, st}, ussd.Config{TTL: cfg.SessionTTL, DefaultLanguage: cfg.Language,
		ServiceCode: cfg.ServiceCode, ResumeWindow: cfg.ResumeWindow}, log)
	eng.Observe(mx)
	ussdProviders := providers.USSDProviders()
	for _, r := range cfg.CGIRoutes {
		if providers.LookupUSSD(r.Name) != nil {
			return nil, fmt.Errorf("config: HUDUMA_CGI_ROUTES: route name %q is taken by another provider", r.Name)
		}
		ussdProviders = append(ussdProviders, cgi.New(r))
	}
	srv := web.New(web.Config{CallbackToken: cfg.CallbackTok, HopTimeout: cfg.HopDeadline, HopsPerMinute: cfg.HopRate, HopBurst: 20,
		APIPerMinute: cfg.APIRate, APIBurst: 100, DefaultLanguage: cfg.Language, Simulated: cfg.Simulated(),
		MetricsElsewhere: cfg.MetricsAddr != ""}, web.Deps{
		USSD:    ussdProviders,
		Hops:    eng,
		Late:    notices.NewLateTexts(st, cfg.ServiceCode),
		Events:  st,
		Pingers: map[string]web.Pinger{"database": st, "sessions": sess},
		Metrics: mx,
	}, log)
	// Payments come in where the backend collects them: the M-Pesa
	// rail's callbacks on a shortcode of our own, or e-Citizen's
	// notifications.
	var payRoutes []providers.Route
	if ec != nil {
		payRoutes = ecitizen.Routes(pay, ecCfg.Signer())
	} else {
		payRoutes = rail.Routes(pay)
	}
	for _, r := range append(payRoutes, smsRoutes...) {
		srv.Mount(r)
	}
	srv.MountAPI(ag, cfg.APIKeys)
	if cfg.SimulatorOn() {
		deps := web.SimulatorDeps{Inbox: st, Texts: inbox, Suspense: pay}
		switch {
		case sim != nil:
			deps.Payments = simulatorPhone{sim}
		case g.ecitizenFake != nil:
			deps.Payments = ecitizenPhone{g.ecitizenFake}
		}
		srv.MountSimulator(web.SimulatorConfig{ServiceCode: cfg.ServiceCode, Paybill: cfg.Paybill(), ShowCodes: cfg.Demo(), Open: seal.Open}, deps)
		log.Warn("SIMULATOR ON: anyone who can open /simulator can act as the aggregator for any phone and read any phone's texts; "+
			"it must never face the internet (HUDUMA_SIMULATOR=off turns it off)", "addr", cfg.Addr, "one_time_codes_shown", cfg.Demo())
	}
	if cfg.Payments == "simulator" && cfg.ECitizenBilling() {
		log.Warn("PAYMENTS SIMULATED: HUDUMA_PAYMENTS=simulator with HUDUMA_BILLING=ecitizen, so bills go to a fake e-Citizen in process " +
			"and no money moves. Set ECITIZEN_URL, ECITIZEN_CLIENT_ID, ECITIZEN_API_KEY and ECITIZEN_SECRET (and unset HUDUMA_PAYMENTS) to bill on e-Citizen")
	} else if cfg.Payments == "simulator" {
		log.Warn("PAYMENTS SIMULATED: HUDUMA_PAYMENTS=simulator, so M-Pesa prompts go to the built-in simulator and no money moves; " +
			"every simulated receipt says SIMULATED. Set MPESA_CONSUMER_KEY, MPESA_CONSUMER_SECRET and MPESA_PASSKEY (and unset HUDUMA_PAYMENTS) to take real payments")
	}
	if cfg.SMSMode == "record-only" {
		log.Warn("SMS RECORD-ONLY: HUDUMA_SMS=record-only, so texts (receipts, one-time codes, replies) are stored and never sent to a phone; " +
			"configure an SMS provider (and unset HUDUMA_SMS) to send them")
	}
	if cfg.InsecureCallbacks {
		log.Warn("CALLBACKS UNAUTHENTICATED: HUDUMA_INSECURE_CALLBACKS=private-network, so anyone who reaches this port can post " +
			"payment confirmations and delivery reports; set HUDUMA_CALLBACK_TOKEN unless only trusted hosts can reach it")
	}
	g.engine, g.payments, g.outbox, g.server, g.mpesa = eng, pay, sms, srv, rail.Puller
	payVia := rail.Name
	switch {
	case g.ecitizenFake != nil:
		payVia = "ecitizen-simulator"
	case ec != nil:
		payVia = "ecitizen"
	}
	log.Info("backends ready", "database", st.Backend(), "sessions", sessKind, "mpesa", payVia, "billing", cfg.Billing, "sms", smsKind, "api", len(cfg.APIKeys) > 0, "simulator", cfg.SimulatorOn())
	built = true
	return g, nil
}

// listeners are the gateway's bound ports: the main one, and /metrics's
// own when HUDUMA_METRICS_ADDR is set (else nil).
type listeners struct {
	main, metrics net.Listener
}

// listen binds the gateway's ports before anything is served, so a port
// in use stops the start with an error naming the variable, and
// "serving" is logged only once connections can be taken.
func listen(cfg Config) (listeners, error) {
	var ls listeners
	var err error
	if ls.main, err = net.Listen("tcp", cfg.Addr); err != nil {
		return ls, fmt.Errorf("HUDUMA_ADDR: listen on %s: %w", cfg.Addr, err)
	}
	if cfg.MetricsAddr != "" {
		if ls.metrics, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			ls.main.Close()
			return ls, fmt.Errorf("HUDUMA_METRICS_ADDR: listen on %s: %w", cfg.MetricsAddr, err)
		}
	}
	return ls, nil
}

// metricsServer serves /metrics alone, for the listener of its own.
func metricsServer(h http.Handler) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
}

// start runs the background workers (the M-Pesa jobs, the pull worker,
// the outbox, the retention pass) until close.
func (g *gateway) start() {
	ctx, stop := context.WithCancel(context.Background())
	g.stop, g.done = stop, make(chan struct{})
	go func() {
		defer close(g.done)
		var wg sync.WaitGroup
		wg.Go(func() { g.payments.Run(ctx, 250*time.Millisecond) })
		wg.Go(func() { g.outbox.Run(ctx, 250*time.Millisecond) })
		wg.Go(func() { retain(ctx, g.store, g.cfg.Retention, 6*time.Hour, g.log) })
		if g.cfg.RefundsOn() {
			wg.Go(func() { g.payments.RunRefunds(ctx, time.Second) })
		}
		if g.cfg.PullEvery > 0 && g.mpesa != nil {
			wg.Go(func() { g.payments.RunPull(ctx, g.mpesa, g.cfg.PullEvery, g.cfg.PullWindow) })
		}
		wg.Wait()
	}()
}

// retain removes personal data older than keep at start and then every
// interval (see the retention table in docs/security.md).
func retain(ctx context.Context, st *sqlstore.DB, keep, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		cut := time.Now().Add(-keep)
		p, err := st.Purge(ctx, cut)
		if err == nil {
			var n int64
			n, err = st.PurgeSessionEvents(ctx, cut)
			if p != (sqlstore.Purged{}) || n > 0 {
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

// close stops the workers, then closes what newGateway opened, in
// reverse.
func (g *gateway) close() {
	if g.stop != nil {
		g.stop()
		<-g.done
		g.stop = nil
	}
	g.closeAll()
}

func (g *gateway) closeAll() {
	for i := len(g.closers) - 1; i >= 0; i-- {
		g.closers[i]()
	}
	g.closers = nil
}

// serve runs the gateway until ctx is cancelled (SIGTERM/SIGINT), then
// stops accepting connections and lets in-flight hops finish.
func serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	g, err := newGateway(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer g.close()
	ls, err := listen(cfg)
	if err != nil {
		return err
	}
	g.start()
	if cfg.PprofAddr != "" {
		// net/http/pprof registers on the default mux; it is served only
		// here, on loopback, never on the public listener.
		go func() { log.Warn("pprof listener stopped", "error", http.ListenAndServe(cfg.PprofAddr, nil)) }()
		log.Info("pprof on", "addr", cfg.PprofAddr)
	}
	errc := make(chan error, 2)
	go func() {
		if err := g.server.Serve(ls.main); err != nil {
			errc <- fmt.Errorf("serve on %s: %w", cfg.Addr, err)
		}
	}()
	var ms *http.Server
	if ls.metrics != nil {
		ms = metricsServer(g.metrics.Handler())
		go func() {
			if err := ms.Serve(ls.metrics); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve /metrics on %s: %w", cfg.MetricsAddr, err)
			}
		}()
	}
	log.Info("huduma serving", "addr", ls.main.Addr().String(), "metrics_addr", cfg.MetricsAddr, "version", version, "public_url", cfg.PublicURL)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if ms != nil {
		// Scrapes are short: stop them first, so the grace goes to hops.
		_ = ms.Shutdown(sctx)
	}
	if err := g.server.Shutdown(sctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// hopEffects runs what a saved USSD hop asked for: the payments service's
// texts, and the durable copy of a language choice.
type hopEffects struct {
	*payments.Service
	prefs interface {
		SetLanguage(ctx context.Context, phone huduma.MSISDN, lang huduma.Language) error
	}
}

func (h hopEffects) SetLanguage(ctx context.Context, phone huduma.MSISDN, lang huduma.Language) error {
	return h.prefs.SetLanguage(ctx, phone, lang)
}
