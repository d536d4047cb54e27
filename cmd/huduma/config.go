package main

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers/cgi"
	"github.com/huduma-ke/huduma/sessions/redisstore"
)

// Config is every setting Huduma reads, all from the environment (SPEC §2).
// loadConfig is the only place that reads variables; everything else gets
// values from here.
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
	APIKeys           []string
	OTPSecret         string
	Language          huduma.Language
	Simulator         string
	MpesaBaseURL      string
	MpesaKey          string
	MpesaSecret       string
	MpesaPasskey      string
	MpesaShort        string
	StkDelay          time.Duration
	QueryAfter        time.Duration
	// MpesaWorkers is MPESA_WORKERS: how many M-Pesa jobs (prompts and
	// status queries) run at once per instance; queries take at most half.
	MpesaWorkers int
	InvoiceTTL   time.Duration
	ATUsername   string
	ATAPIKey     string
	ATSMSURL     string
	ATSenderID   string
	// Kannel's sendsms endpoint and user (KANNEL_*), the alternative to AT.
	KannelURL, KannelUser, KannelPassword, KannelFrom string
	SMSRate                                           float64
	SMSRetry                                          time.Duration
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
}

// Embedded reports whether the database is the embedded SQLite file.
func (c Config) Embedded() bool { return c.DatabaseURL == "" }

// MpesaSimulated reports whether payments go to the built-in simulator.
func (c Config) MpesaSimulated() bool { return c.MpesaKey == "" }

var (
	serviceCodeRE = regexp.MustCompile(`^\*[0-9]+(\*[0-9]+)*#$`)
	shortCodeRE   = regexp.MustCompile(`^[0-9]{5,7}$`)
	redisPrefixRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{0,63}:$`)
)

// loadConfig reads and validates the configuration. getenv is os.Getenv in
// production and a map in tests. The error names the offending variable.
func loadConfig(getenv func(string) string) (Config, error) {
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Addr:           env("HUDUMA_ADDR", ":8080"),
		PublicURL:      strings.TrimRight(env("HUDUMA_PUBLIC_URL", "http://localhost:8080"), "/"),
		DataDir:        env("HUDUMA_DATA_DIR", "./data"),
		DatabaseURL:    env("DATABASE_URL", ""),
		RedisURL:       env("REDIS_URL", ""),
		RedisPrefix:    env("HUDUMA_REDIS_PREFIX", "huduma:"),
		ServiceCode:    env("HUDUMA_SERVICE_CODE", "*2222#"),
		CallbackTok:    env("HUDUMA_CALLBACK_TOKEN", ""),
		OTPSecret:      env("HUDUMA_OTP_SECRET", ""),
		Simulator:      env("HUDUMA_SIMULATOR", ""),
		MpesaBaseURL:   strings.TrimRight(env("MPESA_BASE_URL", "https://sandbox.safaricom.co.ke"), "/"),
		MpesaKey:       env("MPESA_CONSUMER_KEY", ""),
		MpesaSecret:    env("MPESA_CONSUMER_SECRET", ""),
		MpesaPasskey:   env("MPESA_PASSKEY", ""),
		MpesaShort:     env("MPESA_SHORTCODE", "174379"),
		ATUsername:     env("AT_USERNAME", ""),
		ATAPIKey:       env("AT_API_KEY", ""),
		ATSMSURL:       env("AT_SMS_URL", ""),
		ATSenderID:     env("AT_SENDER_ID", ""),
		KannelURL:      env("KANNEL_SENDSMS_URL", ""),
		KannelUser:     env("KANNEL_USERNAME", ""),
		KannelPassword: env("KANNEL_PASSWORD", ""),
		KannelFrom:     env("KANNEL_FROM", ""),
		LogLevel:       env("HUDUMA_LOG_LEVEL", "info"),
		PprofAddr:      env("HUDUMA_PPROF", ""),
	}
	bad := func(name, format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("config: %s: %s", name, fmt.Sprintf(format, args...))
	}
	var err error
	if c.HopDeadline, err = duration(env("HUDUMA_HOP_DEADLINE", "2s"), 100*time.Millisecond, 10*time.Second); err != nil {
		return bad("HUDUMA_HOP_DEADLINE", "%v", err)
	}
	if c.CGIRoutes, err = cgi.ParseRoutes(env("HUDUMA_CGI_ROUTES", "")); err != nil {
		return bad("HUDUMA_CGI_ROUTES", "%v", err)
	}
	if c.ResumeWindow, err = duration(env("HUDUMA_RESUME_WINDOW", "5m"), 0, 30*time.Minute); err != nil {
		return bad("HUDUMA_RESUME_WINDOW", "%v", err)
	}
	if c.SessionTTL, err = duration(env("HUDUMA_SESSION_TTL", "180s"), 10*time.Second, 30*time.Minute); err != nil {
		return bad("HUDUMA_SESSION_TTL", "%v", err)
	}
	if c.StkDelay, err = duration(env("MPESA_STK_DELAY", "2s"), 0, 5*time.Minute); err != nil {
		return bad("MPESA_STK_DELAY", "%v", err)
	}
	if c.QueryAfter, err = duration(env("MPESA_QUERY_AFTER", "60s"), time.Second, 24*time.Hour); err != nil {
		return bad("MPESA_QUERY_AFTER", "%v", err)
	}
	workers := env("MPESA_WORKERS", "16")
	if c.MpesaWorkers, err = strconv.Atoi(workers); err != nil || c.MpesaWorkers < 2 || c.MpesaWorkers > 1000 {
		return bad("MPESA_WORKERS", "want a number of workers from 2 to 1000 (half of them are kept for prompts), got %q", workers)
	}
	if c.InvoiceTTL, err = duration(env("HUDUMA_INVOICE_TTL", "72h"), time.Minute, 90*24*time.Hour); err != nil {
		return bad("HUDUMA_INVOICE_TTL", "%v", err)
	}
	if c.Language, err = huduma.ParseLanguage(env("HUDUMA_LANGUAGE", "en")); err != nil {
		return bad("HUDUMA_LANGUAGE", "must be en or sw")
	}
	if c.Addr == "" || !strings.Contains(c.Addr, ":") {
		return bad("HUDUMA_ADDR", "want host:port or :port, got %q", c.Addr)
	}
	if err := httpURL(c.PublicURL); err != nil {
		return bad("HUDUMA_PUBLIC_URL", "%v", err)
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return bad("DATABASE_URL", "want a postgres:// URL (leave empty for the embedded database)")
	}
	if redisstore.IsSentinelURL(c.RedisURL) {
		// Checked in full here, so a typo stops the start with the
		// variable named rather than at the first connect.
		if _, err := redisstore.ParseSentinelURL(c.RedisURL); err != nil {
			return Config{}, fmt.Errorf("config: REDIS_URL: %w", err)
		}
	} else if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		return bad("REDIS_URL", "want a redis:// or rediss:// URL, or redis+sentinel://host:26379,…/<master-name> (leave empty for in-process sessions)")
	}
	if !redisPrefixRE.MatchString(c.RedisPrefix) {
		return bad("HUDUMA_REDIS_PREFIX", "want 1-64 letters, digits or :_.- ending in ':', got %q", c.RedisPrefix)
	}
	if !serviceCodeRE.MatchString(c.ServiceCode) {
		return bad("HUDUMA_SERVICE_CODE", "want a USSD code like *2222#, got %q", c.ServiceCode)
	}
	if c.CallbackTok != "" && len(c.CallbackTok) < 16 {
		return bad("HUDUMA_CALLBACK_TOKEN", "too short to be secret: use at least 16 characters")
	}
	switch v := env("HUDUMA_INSECURE_CALLBACKS", ""); v {
	case "":
	case "private-network":
		c.InsecureCallbacks = true
	default:
		return bad("HUDUMA_INSECURE_CALLBACKS", "the only accepted value is private-network, got %q", v)
	}
	for _, k := range strings.Split(env("HUDUMA_API_KEYS", ""), ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if len(k) < 16 {
			return bad("HUDUMA_API_KEYS", "every key needs at least 16 characters")
		}
		c.APIKeys = append(c.APIKeys, k)
	}
	if c.OTPSecret != "" && len(c.OTPSecret) < 16 {
		return bad("HUDUMA_OTP_SECRET", "use at least 16 characters")
	}
	if c.OTPSecret == "" && !c.Embedded() {
		return bad("HUDUMA_OTP_SECRET", "required when DATABASE_URL is set (every instance must share it)")
	}
	switch c.Simulator {
	case "", "on", "off":
	default:
		return bad("HUDUMA_SIMULATOR", "want on or off")
	}
	if err := httpURL(c.MpesaBaseURL); err != nil {
		return bad("MPESA_BASE_URL", "%v", err)
	}
	if set := countSet(c.MpesaKey, c.MpesaSecret, c.MpesaPasskey); set != 0 && set != 3 {
		return bad("MPESA_CONSUMER_KEY", "set MPESA_CONSUMER_KEY, MPESA_CONSUMER_SECRET and MPESA_PASSKEY together, or none for the simulator")
	}
	if !shortCodeRE.MatchString(c.MpesaShort) {
		return bad("MPESA_SHORTCODE", "want 5 to 7 digits, got %q", c.MpesaShort)
	}
	if countSet(c.ATUsername, c.ATAPIKey) == 1 {
		return bad("AT_API_KEY", "set AT_USERNAME and AT_API_KEY together, or neither for the record-only outbox")
	}
	if c.KannelURL != "" {
		if err := httpURL(c.KannelURL); err != nil {
			return bad("KANNEL_SENDSMS_URL", "%v", err)
		}
		if c.KannelUser == "" || c.KannelPassword == "" {
			return bad("KANNEL_USERNAME", "set KANNEL_USERNAME and KANNEL_PASSWORD with KANNEL_SENDSMS_URL")
		}
		if c.ATUsername != "" {
			return bad("KANNEL_SENDSMS_URL", "choose one SMS provider: Africa's Talking (AT_*) or Kannel (KANNEL_*)")
		}
	}
	if c.ATSMSURL != "" {
		if err := httpURL(c.ATSMSURL); err != nil {
			return bad("AT_SMS_URL", "%v", err)
		}
	}
	if c.CallbackTok == "" && c.ProductionShaped() && !c.InsecureCallbacks {
		return bad("HUDUMA_CALLBACK_TOKEN", "required when DATABASE_URL or real M-Pesa or SMS credentials are set: without it anyone who reaches "+
			"this port can post a payment confirmation; set a secret of 16+ characters (or HUDUMA_INSECURE_CALLBACKS=private-network "+
			"if only trusted hosts can reach the gateway)")
	}
	if c.InsecureCallbacks && c.CallbackTok != "" {
		return bad("HUDUMA_INSECURE_CALLBACKS", "set either HUDUMA_CALLBACK_TOKEN or HUDUMA_INSECURE_CALLBACKS, not both")
	}
	if c.HopRate, err = perMinute(env("HUDUMA_HOP_RATE", "60")); err != nil {
		return bad("HUDUMA_HOP_RATE", "%v", err)
	}
	if c.APIRate, err = perMinute(env("HUDUMA_API_RATE", "600")); err != nil {
		return bad("HUDUMA_API_RATE", "%v", err)
	}
	if c.Retention, err = duration(env("HUDUMA_RETENTION", "2160h"), 24*time.Hour, 10*365*24*time.Hour); err != nil {
		return bad("HUDUMA_RETENTION", "%v", err)
	}
	if c.SMSRetry, err = duration(env("HUDUMA_SMS_RETRY", "5s"), 10*time.Millisecond, time.Hour); err != nil {
		return bad("HUDUMA_SMS_RETRY", "%v", err)
	}
	rateStr := env("HUDUMA_SMS_RATE", "20")
	if c.SMSRate, err = strconv.ParseFloat(rateStr, 64); err != nil || c.SMSRate <= 0 || c.SMSRate > 10000 {
		return bad("HUDUMA_SMS_RATE", "want messages per second between 0 and 10000, got %q", rateStr)
	}
	if c.PprofAddr != "" {
		host, _, err := net.SplitHostPort(c.PprofAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return bad("HUDUMA_PPROF", "want a loopback host:port such as 127.0.0.1:6060, got %q", c.PprofAddr)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("HUDUMA_LOG_LEVEL", "want debug, info, warn or error")
	}
	if c.SimulatorOn() {
		// The web phone acts as the aggregator and shows any number's SMS:
		// unless the operator named a host, serve it on loopback only.
		if host, port, err := net.SplitHostPort(c.Addr); err == nil && host == "" {
			c.Addr = net.JoinHostPort("127.0.0.1", port)
		}
	}
	return c, nil
}

// ProductionShaped reports whether this configuration reaches real money
// or people: a shared database, real Daraja credentials or a real SMS
// provider. Such a gateway must authenticate its callbacks.
func (c Config) ProductionShaped() bool {
	return !c.Embedded() || !c.MpesaSimulated() || c.ATUsername != "" || c.KannelURL != ""
}

// Demo reports pure demo mode: embedded, and no secret or credential of
// any kind configured. Only then does the simulator's inbox show one-time
// passwords in clear.
func (c Config) Demo() bool {
	return c.Embedded() && !c.ProductionShaped() && c.CallbackTok == "" && len(c.APIKeys) == 0 && c.OTPSecret == ""
}

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
