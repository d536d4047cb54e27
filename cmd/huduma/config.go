package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/providers/cgi"
	"github.com/huduma-ke/huduma/providers/ecitizen"
	"github.com/huduma-ke/huduma/sessions/redisstore"
	"github.com/huduma-ke/huduma/texts"
	"github.com/huduma-ke/huduma/web"
)

// Config is every setting Huduma reads, all from the environment,
// through the variables table below; nothing else reads the environment,
// but the SMS providers, which read their own variables (providers.Var).
type Config struct {
	Addr        string
	PublicURL   string
	DataDir     string
	DatabaseURL string
	RedisURL    string
	// RedisPrefix starts every key Huduma writes in Redis
	// (HUDUMA_REDIS_PREFIX), so deployments can share one server.
	RedisPrefix string
	ServiceCode string
	SessionTTL  time.Duration
	// ResumeWindow is HUDUMA_RESUME_WINDOW: how long after a session's
	// idle timeout the phone is offered to continue it (0 = off).
	ResumeWindow time.Duration
	// HopDeadline is HUDUMA_HOP_DEADLINE: a hop answers within it, and
	// slower work finishes in the background and is texted.
	HopDeadline time.Duration
	// CGIRoutes are the GET-style aggregators (HUDUMA_CGI_ROUTES).
	CGIRoutes   []cgi.Route
	CallbackTok string
	// InsecureCallbacks is HUDUMA_INSECURE_CALLBACKS=private-network: the
	// operator's explicit statement that only trusted hosts reach this
	// port, so a production-shaped gateway may run without a token.
	InsecureCallbacks bool
	APIKeys           []web.APIKey
	OTPSecret         string
	Language          huduma.Language
	Simulator         string
	MpesaBaseURL      string
	MpesaKey          string
	MpesaSecret       string
	MpesaPasskey      string
	MpesaShort        string
	// PaySteps is the table of how to pay by hand from each network
	// (HUDUMA_PAY_STEPS; nil: the default one).
	PaySteps *texts.PaySteps
	// MpesaInitiator and MpesaCredential sign reversals (refunds):
	// MPESA_INITIATOR and MPESA_SECURITY_CREDENTIAL.
	MpesaInitiator, MpesaCredential string
	StkDelay                        time.Duration
	QueryAfter                      time.Duration
	// MpesaWorkers is MPESA_WORKERS: how many M-Pesa jobs (prompts and
	// status queries) run at once on this instance.
	MpesaWorkers int
	// PullEvery and PullWindow are MPESA_PULL_EVERY and MPESA_PULL_WINDOW:
	// how often the pull worker reads the trailing window of the
	// paybill's transactions from Daraja (0: never), and how far back.
	PullEvery, PullWindow time.Duration
	InvoiceTTL            time.Duration
	// Mpesa is the registered M-Pesa provider the environment chose (nil:
	// the built-in Daraja client, or its simulator).
	Mpesa *providers.MpesaProvider
	// SMS is the SMS provider the environment chose (nil: record-only).
	SMS      *providers.SMSProvider
	SMSRate  float64
	SMSRetry time.Duration
	// SMSTTL is how long an SMS conversation waits for its next text
	// (HUDUMA_SMS_TTL); SMSInRate caps the texts handled per phone a
	// minute (HUDUMA_SMS_IN_RATE, 0 = off).
	SMSTTL    time.Duration
	SMSInRate float64
	// Retention is how long personal data outside the financial records
	// is kept (HUDUMA_RETENTION).
	Retention time.Duration
	// HopRate and APIRate are per-minute caps per phone and per API key
	// (HUDUMA_HOP_RATE, HUDUMA_API_RATE; 0 turns a cap off).
	HopRate, APIRate float64
	LogLevel         string
	// PprofAddr, when set, serves net/http/pprof there (HUDUMA_PPROF);
	// loopback only, for profiling under load.
	PprofAddr string
	// Payments is HUDUMA_PAYMENTS: "simulator" when the operator chose
	// the payment simulator, else empty.
	Payments string
	// SMSMode is HUDUMA_SMS: "record-only" when the operator chose the
	// record-only outbox, else empty.
	SMSMode string
	// MetricsAddr is HUDUMA_METRICS_ADDR: when set, /metrics is served
	// there, on a listener of its own, and not on Addr.
	MetricsAddr string
	// Billing is HUDUMA_BILLING: "ledger" (Huduma's own invoices, settled
	// from Daraja on its own shortcode) or "ecitizen" (each invoice a bill
	// on e-Citizen's payment platform, paid to 222222 on any network).
	Billing string
	// ECitizenURL, ECitizenClientID, ECitizenAPIKey and ECitizenSecret
	// are the e-Citizen credentials (ECITIZEN_*; the key and the secret
	// are secrets), and ECitizenHash how its secureHash is written.
	ECitizenURL, ECitizenClientID, ECitizenAPIKey, ECitizenSecret string
	ECitizenHash                                                  ecitizen.HashEncoding
	// PromptCap is HUDUMA_PROMPT_CAP: M-Pesa prompts one phone may get
	// from others in an hour, across instances (0: off, demo only).
	PromptCap int
	// getenv reads the environment, for the SMS provider's own variables.
	getenv func(string) string
	// timeScale, when set (by tests, never from the environment),
	// multiplies the fixed waits of the M-Pesa path (the breaker's
	// cooldown, the Daraja client's and the job worker's retry pacing,
	// the prompt window, the query schedule, MPESA_STK_DELAY and
	// MPESA_QUERY_AFTER), so a test runs an outage's minutes in seconds
	// with the same ratios between them.
	timeScale float64
	// promptTimeout, when set (by tests), is how long the payment
	// simulator's interactive prompts wait for the web phone's answer.
	promptTimeout time.Duration
}

// scaled is d multiplied by the time scale (tests only).
func (c Config) scaled(d time.Duration) time.Duration {
	if c.timeScale <= 0 {
		return d
	}
	return time.Duration(float64(d) * c.timeScale)
}

// Embedded reports whether the database is the embedded SQLite file.
func (c Config) Embedded() bool { return c.DatabaseURL == "" }

// MpesaSimulated reports whether payments go to the built-in simulator.
func (c Config) MpesaSimulated() bool { return c.MpesaKey == "" && c.Mpesa == nil }

// ECitizenBilling reports whether invoices are billed on e-Citizen
// (HUDUMA_BILLING=ecitizen).
func (c Config) ECitizenBilling() bool { return c.Billing == "ecitizen" }

// ECitizenSimulated reports whether the ecitizen backend bills the
// in-process fake e-Citizen: no e-Citizen credential is set.
func (c Config) ECitizenSimulated() bool {
	return countSet(c.ECitizenURL, c.ECitizenClientID, c.ECitizenAPIKey, c.ECitizenSecret) == 0
}

// PaymentsSimulated reports whether no money moves: the M-Pesa simulator
// on the ledger backend, the fake e-Citizen on the ecitizen one.
func (c Config) PaymentsSimulated() bool {
	if c.ECitizenBilling() {
		return c.ECitizenSimulated()
	}
	return c.MpesaSimulated()
}

// ecitizenPaybill is e-Citizen's paybill, which payers pay bills to on
// every network.
const ecitizenPaybill = "222222"

// Paybill is the paybill payers are told to pay to: e-Citizen's on the
// ecitizen backend, MPESA_SHORTCODE on the ledger one.
func (c Config) Paybill() string {
	if c.ECitizenBilling() {
		return ecitizenPaybill
	}
	return c.MpesaShort
}

// ECitizen is the e-Citizen client's configuration: the credentials, and
// our notification route (with the callback token) as every bill's
// notificationURL.
func (c Config) ECitizen() ecitizen.Config {
	return ecitizen.Config{URL: c.ECitizenURL, ClientID: c.ECitizenClientID, APIKey: c.ECitizenAPIKey, Secret: c.ECitizenSecret,
		HashEncoding: c.ECitizenHash, NotificationURL: c.callbackURL(ecitizen.NotifyPath)}
}

var (
	serviceCodeRE = regexp.MustCompile(`^\*[0-9]+(\*[0-9]+)*#$`)
	shortCodeRE   = regexp.MustCompile(`^[0-9]{5,7}$`)
	agencyCodeRE  = regexp.MustCompile(`^[A-Z0-9_-]{1,16}$`)
	redisPrefixRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{0,63}:$`)
)

// variable is one row of the configuration: its name, its default (as
// written in the environment), what it means, and how it is read into
// the Config (an error message without the name, which the caller adds).
type variable struct {
	name, def, help string
	set             func(c *Config, v string) error
}

// text sets a string field as written.
func text(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *field(c) = v; return nil }
}

// dur sets a duration field within lo..hi.
func dur(field func(*Config) *time.Duration, lo, hi time.Duration) func(*Config, string) error {
	return func(c *Config, v string) (err error) { *field(c), err = duration(v, lo, hi); return err }
}

// rate sets a per-minute cap.
func rate(field func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) (err error) { *field(c), err = perMinute(v); return err }
}

// httpField sets a field to an http(s) URL without a trailing slash.
func httpField(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		v = strings.TrimRight(v, "/")
		if err := httpURL(v); err != nil {
			return err
		}
		*field(c) = v
		return nil
	}
}

// variables is Huduma's configuration, in the order docs/configuration.md lists it.
// `huduma config` prints it (with the SMS providers' variables) as
// docs/configuration.md's table; TestConfigTableIsCurrent keeps the two in step.
var variables = []variable{
	{"HUDUMA_ADDR", ":8080", "listen address; while the simulator is on, an address without a host (`:8080`) binds `127.0.0.1` only; name a host (`0.0.0.0:8080`) to serve it elsewhere",
		func(c *Config, v string) error {
			if !strings.Contains(v, ":") {
				return fmt.Errorf("want host:port or :port, got %q", v)
			}
			c.Addr = v
			return nil
		}},
	{"HUDUMA_PUBLIC_URL", "", "base of the callback URLs handed to providers (empty: `http://localhost:` and the port of `HUDUMA_ADDR`, right only for a gateway and providers on one host)",
		func(c *Config, v string) error {
			if v == "" {
				// Callbacks to a port nobody listens on are lost in silence:
				// follow the listen address rather than assume 8080.
				_, port, err := net.SplitHostPort(c.Addr)
				if err != nil {
					return fmt.Errorf("no URL given and HUDUMA_ADDR %q has no port to take: %w", c.Addr, err)
				}
				v = "http://localhost:" + port
			}
			return httpField(func(c *Config) *string { return &c.PublicURL })(c, v)
		}},
	{"HUDUMA_DATA_DIR", "./data", "folder of the embedded database (`huduma.db`)", text(func(c *Config) *string { return &c.DataDir })},
	{"DATABASE_URL", "", "Postgres URL, e.g. `postgres://user:pass@host/db` (empty: the embedded SQLite); several hosts with `target_session_attrs=read-write` find the primary",
		func(c *Config, v string) error {
			if v != "" && !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") {
				return fmt.Errorf("want a postgres:// URL (leave empty for the embedded database)")
			}
			c.DatabaseURL = v
			return nil
		}},
	{"REDIS_URL", "", "Redis URL, e.g. `redis://host:6379/0`, or Sentinel's `redis+sentinel://host1:26379,host2,host3/<master-name>` (see [Sentinel](operations.md#redis-high-availability-sentinel)); empty: in-process sessions",
		func(c *Config, v string) error {
			if redisstore.IsSentinelURL(v) {
				// Checked in full here, so a typo stops the start with the
				// variable named rather than at the first connect.
				if _, err := redisstore.ParseSentinelURL(v); err != nil {
					return err
				}
			} else if v != "" && !strings.HasPrefix(v, "redis://") && !strings.HasPrefix(v, "rediss://") {
				return fmt.Errorf("want a redis:// or rediss:// URL, or redis+sentinel://host:26379,…/<master-name> (leave empty for in-process sessions)")
			} else if v != "" {
				if _, err := redisstore.ParseURL(v); err != nil {
					return err
				}
			}
			c.RedisURL = v
			return nil
		}},
	{"HUDUMA_REDIS_PREFIX", "huduma:", "start of every Redis key, so several deployments (or test runs) can share one Redis", func(c *Config, v string) error {
		if !redisPrefixRE.MatchString(v) {
			return fmt.Errorf("want 1-64 letters, digits or :_.- ending in ':', got %q", v)
		}
		c.RedisPrefix = v
		return nil
	}},
	{"HUDUMA_SERVICE_CODE", "*2222#", "the USSD code shown in the main menu and texts", func(c *Config, v string) error {
		if !serviceCodeRE.MatchString(v) {
			return fmt.Errorf("want a USSD code like *2222#, got %q", v)
		}
		c.ServiceCode = v
		return nil
	}},
	{"HUDUMA_HOP_DEADLINE", "2s", "every hop answers within this; slower work finishes in the background and its screen is texted",
		dur(func(c *Config) *time.Duration { return &c.HopDeadline }, 100*time.Millisecond, 10*time.Second)},
	{"HUDUMA_CGI_ROUTES", "", "GET-style aggregators, see [Aggregators](aggregators.md#aggregators)", func(c *Config, v string) (err error) {
		c.CGIRoutes, err = cgi.ParseRoutes(v)
		return err
	}},
	{"HUDUMA_RESUME_WINDOW", "5m", "after a session stops midway (timeout, cancel), a dial from the same phone within the session TTL plus this window offers `1. Continue where you left off` / `2. Start again` (0 = off)",
		dur(func(c *Config) *time.Duration { return &c.ResumeWindow }, 0, 30*time.Minute)},
	{"HUDUMA_SESSION_TTL", "180s", "idle lifetime of a USSD session (10 s … 30 min)", dur(func(c *Config) *time.Duration { return &c.SessionTTL }, 10*time.Second, 30*time.Minute)},
	{"HUDUMA_CALLBACK_TOKEN", "", "16+ characters; every provider callback must carry `?token=<value>`, others get 403 and change nothing. **Required** once the gateway is production-shaped (`DATABASE_URL`, Daraja credentials, or SMS provider credentials): it refuses to start without it",
		func(c *Config, v string) error {
			if v != "" && len(v) < 16 {
				return fmt.Errorf("too short to be secret: use at least 16 characters")
			}
			c.CallbackTok = v
			return nil
		}},
	{"HUDUMA_INSECURE_CALLBACKS", "", "`private-network`: run production-shaped without a token, for a gateway only trusted hosts can reach; logged as a warning at every start",
		func(c *Config, v string) error {
			switch v {
			case "":
			case "private-network":
				c.InsecureCallbacks = true
			default:
				return fmt.Errorf("the only accepted value is private-network, got %q", v)
			}
			return nil
		}},
	{"HUDUMA_API_KEYS", "", "comma-separated bearer keys for `/api/v1` (16+ characters each; none: the API is off); `AGENCY:key` makes a key that agency's only (its services' invoices and applications, its settlement report), a key without one is an operator's (every agency, suspense and refunds)",
		func(c *Config, v string) error {
			for _, k := range strings.Split(v, ",") {
				if k = strings.TrimSpace(k); k == "" {
					continue
				}
				var key web.APIKey
				if agency, rest, ok := strings.Cut(k, ":"); ok {
					if !agencyCodeRE.MatchString(agency) {
						return fmt.Errorf("%q before the colon is not an agency code (capitals, digits, - or _, up to 16)", agency)
					}
					key.Agency, k = agency, rest
				}
				if len(k) < 16 {
					return fmt.Errorf("every key needs at least 16 characters")
				}
				key.Key = k
				c.APIKeys = append(c.APIKeys, key)
			}
			return nil
		}},
	{"HUDUMA_OTP_SECRET", "", "HMAC key for OTP hashes (16+ characters); required with Postgres (every instance must share it), generated in the data dir when embedded",
		func(c *Config, v string) error {
			if v != "" && len(v) < 16 {
				return fmt.Errorf("use at least 16 characters")
			}
			c.OTPSecret = v
			return nil
		}},
	{"HUDUMA_LANGUAGE", "en", "default language for phones that never chose (`en` or `sw`)", func(c *Config, v string) (err error) {
		if c.Language, err = huduma.ParseLanguage(v); err != nil {
			return fmt.Errorf("must be en or sw")
		}
		return nil
	}},
	{"HUDUMA_SIMULATOR", "", "`on`/`off`: the web phone and inbox. On by default only in pure demo mode (embedded, in-process sessions, no token, keys, secret or credentials); see [Security](security.md#security)",
		func(c *Config, v string) error {
			if v != "" && v != "on" && v != "off" {
				return fmt.Errorf("want on or off")
			}
			c.Simulator = v
			return nil
		}},
	{"HUDUMA_PAYMENTS", "", "`simulator`: take payments with the built-in M-Pesa simulator (no money moves; every simulated receipt says SIMULATED). A production-shaped gateway (a database or Redis URL, a token, API keys, an OTP secret or any provider credential) without Daraja credentials refuses to start unless this says so; logged as a warning at every start, shown by `/readyz` and `huduma_simulated`",
		func(c *Config, v string) error {
			if v != "" && v != "simulator" {
				return fmt.Errorf("the only accepted value is simulator (leave empty for Daraja, or the simulator in pure demo mode), got %q", v)
			}
			c.Payments = v
			return nil
		}},
	{"HUDUMA_BILLING", "ledger", "`ledger`: Huduma numbers invoices and settles them from Daraja on a shortcode of its own (demos, a non-government biller); `ecitizen`: each invoice is a bill on e-Citizen's payment platform, paid to 222222 from any network (what a government agency must use, see [the e-Citizen page](ecitizen.md)). With `ecitizen` every `ECITIZEN_*` credential is required (or `HUDUMA_PAYMENTS=simulator` for a fake e-Citizen in process), Daraja's are refused, and refunds and the Daraja pull are off (e-Citizen holds the money)",
		func(c *Config, v string) error {
			if v != "ledger" && v != "ecitizen" {
				return fmt.Errorf("want ledger or ecitizen, got %q", v)
			}
			c.Billing = v
			return nil
		}},
	{"ECITIZEN_URL", "", "e-Citizen's checkout endpoint (`…/PaymentAPI/iframev2.1.php`; e-Citizen issues a test host too), with `HUDUMA_BILLING=ecitizen`",
		func(c *Config, v string) error {
			if v != "" {
				if err := httpURL(v); err != nil {
					return err
				}
			}
			c.ECitizenURL = v
			return nil
		}},
	{"ECITIZEN_CLIENT_ID", "", "the agency's `apiClientID` on e-Citizen", text(func(c *Config) *string { return &c.ECitizenClientID })},
	{"ECITIZEN_API_KEY", "", "the agency's e-Citizen API key, the HMAC key of every `secureHash` (a secret: never logged)", text(func(c *Config) *string { return &c.ECitizenAPIKey })},
	{"ECITIZEN_SECRET", "", "the agency's e-Citizen secret, appended to every signed message (a secret: never logged)", text(func(c *Config) *string { return &c.ECitizenSecret })},
	{"ECITIZEN_HASH_ENCODING", "digest", "how `secureHash` is written: `digest` (base64 of the HMAC, as the published vectors) or `hex` (base64 of its hex); confirm with e-Citizen's integration pack",
		func(c *Config, v string) (err error) {
			c.ECitizenHash, err = ecitizen.ParseHashEncoding(v)
			if err != nil {
				err = fmt.Errorf("want digest or hex, got %q", v)
			}
			return err
		}},
	{"HUDUMA_SMS", "", "`record-only`: store outgoing SMS without sending them. A production-shaped gateway without an SMS provider refuses to start unless this says so; logged as a warning at every start, shown by `/readyz` and `huduma_simulated`",
		func(c *Config, v string) error {
			if v != "" && v != "record-only" {
				return fmt.Errorf("the only accepted value is record-only (leave empty for the configured SMS provider, or record-only in pure demo mode), got %q", v)
			}
			c.SMSMode = v
			return nil
		}},
	{"HUDUMA_LOG_LEVEL", "info", "`debug`, `info`, `warn`, `error`", func(c *Config, v string) error {
		switch v {
		case "debug", "info", "warn", "error":
			c.LogLevel = v
			return nil
		}
		return fmt.Errorf("want debug, info, warn or error")
	}},
	{"HUDUMA_METRICS_ADDR", "", "`host:port` of a listener of its own for `/metrics`, which then leaves the main port (404 there); the production setting, on an internal address, so business volumes are not on the callback port (empty: `/metrics` on `HUDUMA_ADDR`)",
		func(c *Config, v string) error {
			if v != "" {
				if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
					return fmt.Errorf("want host:port such as 10.0.0.5:9102 or :9102, got %q", v)
				}
			}
			c.MetricsAddr = v
			return nil
		}},
	{"MPESA_BASE_URL", "https://sandbox.safaricom.co.ke", "Daraja base URL", httpField(func(c *Config) *string { return &c.MpesaBaseURL })},
	{"MPESA_CONSUMER_KEY", "", "Daraja consumer key (with MPESA_CONSUMER_SECRET and MPESA_PASSKEY; none of the three: the payment simulator, in pure demo mode or with `HUDUMA_PAYMENTS=simulator`)", text(func(c *Config) *string { return &c.MpesaKey })},
	{"MPESA_CONSUMER_SECRET", "", "Daraja consumer secret", text(func(c *Config) *string { return &c.MpesaSecret })},
	{"MPESA_PASSKEY", "", "Daraja passkey of the shortcode", text(func(c *Config) *string { return &c.MpesaPasskey })},
	{"MPESA_SHORTCODE", "174379", "paybill (222222 in production)", func(c *Config, v string) error {
		if !shortCodeRE.MatchString(v) {
			return fmt.Errorf("want 5 to 7 digits, got %q", v)
		}
		c.MpesaShort = v
		return nil
	}},
	{"HUDUMA_PAY_STEPS", "", "a CSV file (`network,language,steps`) replacing the built-in steps of paying by hand from each network that texts and screens give a payer no prompt can reach; every network (`safaricom`, `airtel`, `equitel`, `telkom`, `other`) in `en` and `sw`, each naming `{account}` and `{amount}` (and `{paybill}` if it needs it), checked at start (see [Paying](payments.md#steps-that-fit-the-payers-network))",
		func(c *Config, v string) (err error) {
			if v != "" {
				c.PaySteps, err = texts.LoadPaySteps(v)
			}
			return err
		}},
	{"MPESA_INITIATOR", "", "the API operator (initiator) name refunds are made as, with MPESA_SECURITY_CREDENTIAL; without both, refunds are refused (the simulator has its own)",
		text(func(c *Config) *string { return &c.MpesaInitiator })},
	{"MPESA_SECURITY_CREDENTIAL", "", "the initiator's password encrypted with Safaricom's certificate, base64, as the Daraja portal makes it (a secret: never logged)",
		text(func(c *Config) *string { return &c.MpesaCredential })},
	{"MPESA_STK_DELAY", "2s", "wait after the USSD END before the STK push", dur(func(c *Config) *time.Duration { return &c.StkDelay }, 0, 5*time.Minute)},
	{"MPESA_QUERY_AFTER", "60s", "ask Daraja's STK query API when no callback came by then (then 20 s, 40 s, … later while undecided, see [the job worker](payments.md#prompts-under-load-the-job-worker))",
		dur(func(c *Config) *time.Duration { return &c.QueryAfter }, time.Second, 24*time.Hour)},
	{"MPESA_WORKERS", "16", "M-Pesa jobs (prompts and status queries) run at once per instance, 2 to 1000; status queries may use at most half", func(c *Config, v string) (err error) {
		if c.MpesaWorkers, err = strconv.Atoi(v); err != nil || c.MpesaWorkers < 2 || c.MpesaWorkers > 1000 {
			return fmt.Errorf("want a number of workers from 2 to 1000 (half of them are kept for prompts), got %q", v)
		}
		return nil
	}},
	{"MPESA_PULL_EVERY", "15m", "how often the pull worker reads the paybill's recent transactions from Daraja's Pull Transactions API and settles any whose confirmation never arrived (0 = off; see [Money that matches nothing](finance.md#money-that-matches-nothing))",
		func(c *Config, v string) (err error) {
			if c.PullEvery, err = duration(v, 0, 24*time.Hour); err == nil && c.PullEvery > 0 && c.PullEvery < time.Second {
				err = fmt.Errorf("want 0 (off) or at least 1s, got %s", c.PullEvery)
			}
			return err
		}},
	{"MPESA_PULL_WINDOW", "2h", "how far back each pull reads (1 min … 45 h; Daraja keeps 48 h)", dur(func(c *Config) *time.Duration { return &c.PullWindow }, time.Minute, 45*time.Hour)},
	{"HUDUMA_INVOICE_TTL", "72h", "how long an unpaid invoice stays payable before it expires", dur(func(c *Config) *time.Duration { return &c.InvoiceTTL }, time.Minute, 90*24*time.Hour)},
	{"HUDUMA_SMS_RATE", "20", "most SMS sent per second through the provider (per instance)", func(c *Config, v string) (err error) {
		if c.SMSRate, err = strconv.ParseFloat(v, 64); err != nil || c.SMSRate <= 0 || c.SMSRate > 10000 {
			return fmt.Errorf("want messages per second between 0 and 10000, got %q", v)
		}
		return nil
	}},
	{"HUDUMA_SMS_RETRY", "5s", "first retry delay of a failed send; doubles each time up to 30 min, 8 tries", dur(func(c *Config) *time.Duration { return &c.SMSRetry }, 10*time.Millisecond, time.Hour)},
	{"HUDUMA_SMS_TTL", "15m", "how long a question asked by SMS (a missing input, a code) waits for its answer, and a handled text is remembered against the aggregator's retries (10 min … 24 h)",
		dur(func(c *Config) *time.Duration { return &c.SMSTTL }, 10*time.Minute, 24*time.Hour)},
	{"HUDUMA_SMS_IN_RATE", "10", "texts per minute per phone the SMS keywords answer (burst 10, per instance); more get one `Too many messages…` reply per 10 minutes and are not acted on (0 = off)",
		rate(func(c *Config) *float64 { return &c.SMSInRate })},
	{"HUDUMA_HOP_RATE", "60", "USSD hops per minute per phone (burst 20); more get `END Too many requests…` without touching the session (0 = off)", rate(func(c *Config) *float64 { return &c.HopRate })},
	{"HUDUMA_API_RATE", "600", "agency API calls per minute per key (burst 100); more get `429` with `Retry-After` (0 = off)", rate(func(c *Config) *float64 { return &c.APIRate })},
	{"HUDUMA_PROMPT_CAP", "3", "M-Pesa prompts one phone may get in an hour from others (`Pay from another number`, `PAY` for someone else's invoice, an agency pushing to another payer), counted in the database across instances; prompts for its own invoices or asked for on its own USSD session never count. More are refused with a reason (0 = off, refused once the gateway is production-shaped)",
		func(c *Config, v string) (err error) {
			if c.PromptCap, err = strconv.Atoi(v); err != nil || c.PromptCap < 0 || c.PromptCap > 1000 {
				return fmt.Errorf("want a number of prompts an hour from 0 (off) to 1000, got %q", v)
			}
			return nil
		}},
	{"HUDUMA_RETENTION", "2160h", "how long personal data outside the financial records is kept, 90 days by default (see [retention](security.md#privacy-and-retention))",
		dur(func(c *Config) *time.Duration { return &c.Retention }, 24*time.Hour, 10*365*24*time.Hour)},
	{"HUDUMA_PPROF", "", "a loopback `host:port` to serve Go's profiler on (off when empty)", func(c *Config, v string) error {
		if v != "" {
			host, _, err := net.SplitHostPort(v)
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("want a loopback host:port such as 127.0.0.1:6060, got %q", v)
			}
		}
		c.PprofAddr = v
		return nil
	}},
}

// loadConfig reads and validates the configuration. getenv is os.Getenv in
// production and a map in tests. The error names the offending variable.
func loadConfig(getenv func(string) string) (Config, error) {
	c, err := loadVariables(getenv, func(string) bool { return true })
	if err != nil {
		return Config{}, err
	}
	if err := c.check(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// loadVariables reads and validates the variables keep says to, each on
// its own (the rules that join several are check's); the others stay
// zero. The error names the offending variable.
func loadVariables(getenv func(string) string, keep func(name string) bool) (Config, error) {
	c := Config{getenv: getenv}
	for _, v := range variables {
		if !keep(v.name) {
			continue
		}
		val := strings.TrimSpace(getenv(v.name))
		if val == "" {
			val = v.def
		}
		if err := v.set(&c, val); err != nil {
			return Config{}, fmt.Errorf("config: %s: %w", v.name, err)
		}
	}
	return c, nil
}

// check applies the rules that join several variables.
func (c *Config) check() error {
	bad := func(name, format string, args ...any) error {
		return fmt.Errorf("config: %s: %s", name, fmt.Sprintf(format, args...))
	}
	if c.OTPSecret == "" && !c.Embedded() {
		return bad("HUDUMA_OTP_SECRET", "required when DATABASE_URL is set (every instance must share it)")
	}
	if set := countSet(c.MpesaKey, c.MpesaSecret, c.MpesaPasskey); set != 0 && set != 3 {
		return bad("MPESA_CONSUMER_KEY", "set MPESA_CONSUMER_KEY, MPESA_CONSUMER_SECRET and MPESA_PASSKEY together, or none for the simulator")
	}
	if (c.MpesaInitiator == "") != (c.MpesaCredential == "") {
		return bad("MPESA_INITIATOR", "set MPESA_INITIATOR and MPESA_SECURITY_CREDENTIAL together (refunds need both), or neither")
	}
	if c.MpesaInitiator != "" && c.MpesaSimulated() {
		return bad("MPESA_INITIATOR", "refund credentials without Daraja credentials: set MPESA_CONSUMER_KEY, MPESA_CONSUMER_SECRET and MPESA_PASSKEY too")
	}
	sms, err := providers.SelectSMS(c.getenv)
	if err != nil {
		return err
	}
	c.SMS = sms
	if c.Mpesa, err = providers.SelectMpesa(c.getenv); err != nil {
		return err
	}
	if c.Mpesa != nil && (c.MpesaKey != "" || c.Payments != "") {
		return bad("MPESA_CONSUMER_KEY", "the M-Pesa provider %s is chosen: leave Daraja's credentials and HUDUMA_PAYMENTS unset, or unset the provider's variables", c.Mpesa.Name)
	}
	if c.CallbackTok == "" && c.ProductionShaped() && !c.InsecureCallbacks {
		return bad("HUDUMA_CALLBACK_TOKEN", "required when DATABASE_URL or real M-Pesa or SMS credentials are set: without it anyone who reaches "+
			"this port can post a payment confirmation; set a secret of 16+ characters (or HUDUMA_INSECURE_CALLBACKS=private-network "+
			"if only trusted hosts can reach the gateway)")
	}
	if c.PromptCap == 0 && c.ProductionShaped() {
		return bad("HUDUMA_PROMPT_CAP", "0 (no cap) is for demos and tests: a production-shaped gateway must cap the M-Pesa prompts others can "+
			"send one phone; set 1 to 1000 (default 3)")
	}
	if c.InsecureCallbacks && c.CallbackTok != "" {
		return bad("HUDUMA_INSECURE_CALLBACKS", "set either HUDUMA_CALLBACK_TOKEN or HUDUMA_INSECURE_CALLBACKS, not both")
	}
	if err := c.checkBilling(); err != nil {
		return err
	}
	if err := c.checkSimulated(); err != nil {
		return err
	}
	if c.MetricsAddr != "" {
		_, mainPort, _ := net.SplitHostPort(c.Addr)
		if _, port, _ := net.SplitHostPort(c.MetricsAddr); port == mainPort {
			return bad("HUDUMA_METRICS_ADDR", "port %s is HUDUMA_ADDR's; give /metrics a port of its own", port)
		}
	}
	if c.SimulatorOn() {
		// The web phone acts as the aggregator and shows any number's SMS:
		// unless the operator named a host, serve it on loopback only.
		if host, port, err := net.SplitHostPort(c.Addr); err == nil && host == "" {
			c.Addr = net.JoinHostPort("127.0.0.1", port)
		}
	}
	return nil
}

// checkSimulated refuses simulated money or texts outside pure demo mode
// unless the operator chose them by name (HUDUMA_PAYMENTS=simulator,
// HUDUMA_SMS=record-only), and the choice beside real credentials.
func (c *Config) checkSimulated() error {
	shaped := strings.Join(c.shapedBy(), ", ")
	if c.ECitizenBilling() {
		// checkBilling has decided: e-Citizen's credentials, or the fake
		// chosen by name.
		return c.checkSMSSimulated(shaped)
	}
	if c.Payments == "simulator" && !c.MpesaSimulated() {
		return fmt.Errorf("config: HUDUMA_PAYMENTS: simulator is set beside Daraja credentials (MPESA_CONSUMER_KEY, MPESA_CONSUMER_SECRET, MPESA_PASSKEY): remove one or the other")
	}
	if c.Payments == "" && c.MpesaSimulated() && shaped != "" {
		return fmt.Errorf("config: MPESA_CONSUMER_KEY: this gateway is production-shaped (%s set) but has no M-Pesa credentials, "+
			"so its payments would be simulated and no money would move: set MPESA_CONSUMER_KEY, MPESA_CONSUMER_SECRET and MPESA_PASSKEY, "+
			"or HUDUMA_PAYMENTS=simulator to take simulated payments on purpose", shaped)
	}
	return c.checkSMSSimulated(shaped)
}

// checkSMSSimulated refuses the record-only outbox outside pure demo mode
// unless chosen by name, and the choice beside an SMS provider.
func (c *Config) checkSMSSimulated(shaped string) error {
	if c.SMSMode == "record-only" && c.SMS != nil {
		return fmt.Errorf("config: HUDUMA_SMS: record-only is set beside the SMS provider %s: remove one or the other", c.SMS.Name)
	}
	if c.SMSMode == "" && c.SMS == nil && shaped != "" {
		var choices []string
		for _, p := range providers.SMSProviders() {
			if len(p.Vars) == 0 {
				continue
			}
			names := make([]string, len(p.Vars))
			for i, v := range p.Vars {
				names[i] = v.Name
			}
			choices = append(choices, p.Name+": "+strings.Join(names, ", "))
		}
		return fmt.Errorf("config: HUDUMA_SMS: this gateway is production-shaped (%s set) but has no SMS provider, "+
			"so its texts would be recorded and never sent: configure one (%s), or set HUDUMA_SMS=record-only to record them on purpose",
			shaped, strings.Join(choices, "; "))
	}
	return nil
}

// checkBilling applies the ecitizen backend's rules: every e-Citizen
// credential, or none and the fake chosen by name (HUDUMA_PAYMENTS=
// simulator); Daraja's credentials are refused, since e-Citizen, not
// Huduma, receives the money.
func (c *Config) checkBilling() error {
	if !c.ECitizenBilling() {
		if n := countSet(c.ECitizenURL, c.ECitizenClientID, c.ECitizenAPIKey, c.ECitizenSecret); n > 0 {
			return fmt.Errorf("config: HUDUMA_BILLING: e-Citizen credentials (ECITIZEN_*) are set but billing is ledger: set HUDUMA_BILLING=ecitizen, or remove them")
		}
		return nil
	}
	if c.MpesaKey != "" || c.MpesaSecret != "" || c.MpesaPasskey != "" || c.MpesaInitiator != "" || c.MpesaCredential != "" {
		return fmt.Errorf("config: HUDUMA_BILLING: Daraja credentials (MPESA_CONSUMER_KEY, MPESA_CONSUMER_SECRET, MPESA_PASSKEY, MPESA_INITIATOR, " +
			"MPESA_SECURITY_CREDENTIAL) are not used with ecitizen: e-Citizen receives the money on 222222 and sends the prompts; remove them")
	}
	if c.Mpesa != nil {
		return fmt.Errorf("config: HUDUMA_BILLING: the M-Pesa rail %s (%s) is not used with ecitizen: e-Citizen receives the money on 222222 and sends the prompts; remove it",
			c.Mpesa.Name, mpesaVar(c.Mpesa))
	}
	if c.Payments == "simulator" {
		if !c.ECitizenSimulated() {
			return fmt.Errorf("config: HUDUMA_PAYMENTS: simulator is set beside e-Citizen credentials (ECITIZEN_*): remove one or the other")
		}
		return nil
	}
	if err := c.ECitizen().Check(); err != nil {
		return fmt.Errorf("config: %w (or HUDUMA_PAYMENTS=simulator to bill a fake e-Citizen in process, moving no money)", err)
	}
	return nil
}

// shapedBy names the variables that make this configuration more than
// pure demo mode: a shared backend, a secret, or a real credential.
func (c Config) shapedBy() []string {
	var by []string
	for _, v := range []struct {
		name string
		set  bool
	}{
		{"DATABASE_URL", !c.Embedded()}, {"REDIS_URL", c.RedisURL != ""}, {"HUDUMA_CALLBACK_TOKEN", c.CallbackTok != ""},
		{"HUDUMA_INSECURE_CALLBACKS", c.InsecureCallbacks}, {"HUDUMA_API_KEYS", len(c.APIKeys) > 0},
		{"HUDUMA_OTP_SECRET", c.OTPSecret != ""}, {"MPESA_CONSUMER_KEY", c.MpesaKey != ""}, {mpesaVar(c.Mpesa), c.Mpesa != nil},
		{"ECITIZEN_API_KEY", c.ECitizenBilling() && !c.ECitizenSimulated()},
	} {
		if v.set {
			by = append(by, v.name)
		}
	}
	if c.SMS != nil {
		by = append(by, "the "+c.SMS.Name+" SMS provider's variables")
	}
	return by
}

// Simulated names what this gateway fakes: "payments" (the M-Pesa
// simulator) and "sms" (the record-only outbox).
func (c Config) Simulated() []string {
	var fake []string
	if c.PaymentsSimulated() {
		fake = append(fake, "payments")
	}
	if c.SMS == nil {
		fake = append(fake, "sms")
	}
	return fake
}

// callbackURL is the public URL of a callback path, with the token.
func (c Config) callbackURL(path string) string {
	u := c.PublicURL + path
	if c.CallbackTok != "" {
		u += "?token=" + url.QueryEscape(c.CallbackTok)
	}
	return u
}

// RefundsOn reports whether refunds can be made: the simulator's own, or
// Daraja's with an initiator.
func (c Config) RefundsOn() bool {
	// e-Citizen holds the money on the ecitizen backend: it refunds.
	return !c.ECitizenBilling() && (c.MpesaSimulated() || c.MpesaInitiator != "")
}

// ProductionShaped reports whether this configuration reaches real money
// or people: a shared database, real Daraja credentials or a real SMS
// provider. Such a gateway must authenticate its callbacks.
func (c Config) ProductionShaped() bool {
	return !c.Embedded() || !c.PaymentsSimulated() || c.SMS != nil
}

// Demo reports pure demo mode: embedded, in-process sessions, and no
// secret or credential of any kind configured. Only then does the
// simulator's inbox show one-time passwords in clear, and only then are
// payments and SMS simulated without being asked for.
func (c Config) Demo() bool { return len(c.shapedBy()) == 0 }

// SimulatorOn reports whether the web phone and inbox are served: on by
// default only in pure demo mode (embedded, nothing configured); off as
// soon as a token, API keys or credentials are set, unless
// HUDUMA_SIMULATOR=on.
func (c Config) SimulatorOn() bool {
	if c.Simulator == "" {
		return c.Demo()
	}
	return c.Simulator == "on"
}

// printConfigTable writes the configuration as docs/configuration.md's Markdown
// table: Huduma's variables, then each SMS provider's.
func printConfigTable(w io.Writer) {
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	fmt.Fprintln(w, "| variable | default | meaning |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, v := range variables {
		def := "empty"
		if v.def != "" {
			def = "`" + v.def + "`"
		}
		fmt.Fprintf(w, "| `%s` | %s | %s |\n", v.name, def, cell(v.help))
	}
	for _, p := range providers.SMSProviders() {
		for _, v := range p.Vars {
			def := "empty"
			if v.Default != "" {
				def = v.Default
			}
			fmt.Fprintf(w, "| `%s` | %s | %s (SMS through %s) |\n", v.Name, cell(def), cell(v.Help), p.Name)
		}
	}
}

// perMinute reads a rate cap: a number of events per minute, 0 for none.
func perMinute(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 1e7 {
		return 0, fmt.Errorf("want a number of requests per minute (0 = no limit), got %q", s)
	}
	return v, nil
}

func duration(s string, lo, hi time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		// A bare number means seconds, the way operators often write it.
		n, nerr := strconv.Atoi(s)
		if nerr != nil {
			return 0, fmt.Errorf("want a duration like 180s or 2m, got %q", s)
		}
		d = time.Duration(n) * time.Second
	}
	if d < lo || d > hi {
		return 0, fmt.Errorf("%s is outside %s..%s", d, lo, hi)
	}
	return d, nil
}

func httpURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want an http(s) URL, got %q", s)
	}
	return nil
}

func countSet(vals ...string) int {
	n := 0
	for _, v := range vals {
		if v != "" {
			n++
		}
	}
	return n
}

// mpesaVar names the variable that chose a registered M-Pesa provider.
func mpesaVar(p *providers.MpesaProvider) string {
	if p == nil || len(p.Vars) == 0 {
		return ""
	}
	return p.Vars[0].Name
}
