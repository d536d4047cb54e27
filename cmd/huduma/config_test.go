package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
)

func TestLoadConfigDefaults(t *testing.T) {
	c, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.ServiceCode != "*2222#" || c.SessionTTL != 180*time.Second ||
		c.StkDelay != 2*time.Second || c.QueryAfter != 60*time.Second || c.MpesaShort != "174379" || c.Language != "en" ||
		c.MpesaWorkers != 16 {
		t.Fatalf("defaults wrong: %+v", c)
	}
	if !c.Embedded() || !c.MpesaSimulated() || !c.SimulatorOn() {
		t.Fatal("empty environment must mean embedded, simulated, simulator on (so on loopback)")
	}
}

// TestPublicURLFollowsTheListenPort: with no HUDUMA_PUBLIC_URL the
// callback URLs name the port the gateway listens on, not always 8080.
func TestPublicURLFollowsTheListenPort(t *testing.T) {
	for addr, want := range map[string]string{"": "http://localhost:8080", ":9090": "http://localhost:9090", "0.0.0.0:7001": "http://localhost:7001"} {
		env := map[string]string{"HUDUMA_ADDR": addr}
		c, err := loadConfig(func(k string) string { return env[k] })
		if err != nil || c.PublicURL != want {
			t.Errorf("HUDUMA_ADDR %q: public URL %q, %v; want %q", addr, c.PublicURL, err, want)
		}
	}
	env := map[string]string{"HUDUMA_ADDR": ":9090", "HUDUMA_PUBLIC_URL": "https://huduma.example.go.ke/"}
	if c, err := loadConfig(func(k string) string { return env[k] }); err != nil || c.PublicURL != "https://huduma.example.go.ke" {
		t.Errorf("a given URL is kept (without its trailing slash): %q, %v", c.PublicURL, err)
	}
}

func TestLoadConfigRejects(t *testing.T) {
	cases := []struct {
		env  map[string]string
		name string
	}{
		{map[string]string{"HUDUMA_SESSION_TTL": "forever"}, "HUDUMA_SESSION_TTL"},
		{map[string]string{"HUDUMA_SESSION_TTL": "1s"}, "HUDUMA_SESSION_TTL"},
		{map[string]string{"HUDUMA_LANGUAGE": "fr"}, "HUDUMA_LANGUAGE"},
		{map[string]string{"HUDUMA_PUBLIC_URL": "ftp://x"}, "HUDUMA_PUBLIC_URL"},
		{map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL"},
		{map[string]string{"DATABASE_URL": "postgres://x/y"}, "HUDUMA_OTP_SECRET"},
		{map[string]string{"REDIS_URL": "localhost:6379"}, "REDIS_URL"},
		{map[string]string{"REDIS_URL": "redis+sentinel://s1:26379,s2:26379"}, "REDIS_URL: no master name"},
		{map[string]string{"REDIS_URL": "redis+sentinel://s1:26379/huduma?master_name=x"}, "REDIS_URL: unknown option"},
		{map[string]string{"REDIS_URL": "redis://h:6379/0?pool_size=10"}, `REDIS_URL: unknown option "pool_size"`},
		{map[string]string{"HUDUMA_SERVICE_CODE": "2222"}, "HUDUMA_SERVICE_CODE"},
		{map[string]string{"HUDUMA_CALLBACK_TOKEN": "short"}, "HUDUMA_CALLBACK_TOKEN"},
		{map[string]string{"HUDUMA_API_KEYS": "abc"}, "HUDUMA_API_KEYS"},
		{map[string]string{"HUDUMA_API_KEYS": "dis:key-aaaaaaaaaaaaaaaa"}, "HUDUMA_API_KEYS: \"dis\" before the colon"},
		{map[string]string{"HUDUMA_API_KEYS": "DIS:short"}, "HUDUMA_API_KEYS: every key"},
		{map[string]string{"MPESA_CONSUMER_KEY": "k"}, "MPESA_CONSUMER_KEY"},
		{map[string]string{"MPESA_SHORTCODE": "12ab"}, "MPESA_SHORTCODE"},
		{map[string]string{"MPESA_STK_DELAY": "-1s"}, "MPESA_STK_DELAY"},
		{map[string]string{"AT_USERNAME": "sandbox"}, "AT_API_KEY"},
		{map[string]string{"AT_SMS_URL": "nope"}, "AT_SMS_URL"},
		{map[string]string{"HUDUMA_SIMULATOR": "maybe"}, "HUDUMA_SIMULATOR"},
		{map[string]string{"HUDUMA_INVOICE_TTL": "10s"}, "HUDUMA_INVOICE_TTL"},
		{map[string]string{"MPESA_WORKERS": "1"}, "MPESA_WORKERS"},
		{map[string]string{"MPESA_WORKERS": "many"}, "MPESA_WORKERS"},
		{map[string]string{"MPESA_WORKERS": "5000"}, "MPESA_WORKERS"},
		{map[string]string{"MPESA_PULL_EVERY": "500ms"}, "MPESA_PULL_EVERY"},
		{map[string]string{"MPESA_PULL_EVERY": "2d"}, "MPESA_PULL_EVERY"},
		{map[string]string{"MPESA_PULL_WINDOW": "48h"}, "MPESA_PULL_WINDOW"},
		{map[string]string{"MPESA_INITIATOR": "apiop"}, "MPESA_INITIATOR"},
		{map[string]string{"MPESA_SECURITY_CREDENTIAL": "c2VjcmV0"}, "MPESA_INITIATOR"},
		{map[string]string{"MPESA_INITIATOR": "apiop", "MPESA_SECURITY_CREDENTIAL": "c2VjcmV0"}, "MPESA_INITIATOR: refund credentials without Daraja"},
		{map[string]string{"HUDUMA_PROMPT_CAP": "-1"}, "HUDUMA_PROMPT_CAP"},
		{map[string]string{"HUDUMA_PROMPT_CAP": "few"}, "HUDUMA_PROMPT_CAP"},
		{map[string]string{"HUDUMA_PROMPT_CAP": "0", "DATABASE_URL": "postgres://u@h/db", "HUDUMA_OTP_SECRET": "0123456789abcdef",
			"HUDUMA_CALLBACK_TOKEN": "callback-token-0123456789"}, "HUDUMA_PROMPT_CAP: 0 (no cap) is for demos"},
	}
	for _, tc := range cases {
		_, err := loadConfig(func(k string) string { return tc.env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("env %v: error %v does not name %s", tc.env, err, tc.name)
		}
	}
}

func TestLoadConfigProduction(t *testing.T) {
	env := map[string]string{
		"DATABASE_URL": "postgres://u@h/db", "REDIS_URL": "redis://h:6379/0",
		"HUDUMA_OTP_SECRET": "0123456789abcdef", "HUDUMA_API_KEYS": " key-aaaaaaaaaaaaaaaa , key-bbbbbbbbbbbbbbbb ",
		"HUDUMA_SESSION_TTL": "120", "HUDUMA_CALLBACK_TOKEN": "callback-token-0123456789",
		"HUDUMA_PAYMENTS": "simulator", "HUDUMA_SMS": "record-only",
	}
	c, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Embedded() || c.SimulatorOn() || len(c.APIKeys) != 2 || c.APIKeys[0].Agency != "" || c.SessionTTL != 120*time.Second || c.PromptCap != 3 {
		t.Fatalf("production config wrong: %+v", c)
	}
	// The prompt cap may be off only where nothing real is reached.
	if c, err := loadConfig(func(k string) string { return map[string]string{"HUDUMA_PROMPT_CAP": "0"}[k] }); err != nil || c.PromptCap != 0 {
		t.Fatalf("the demo without a prompt cap: %+v %v", c.PromptCap, err)
	}
}

// TestLoadConfigSentinel: the Sentinel form of REDIS_URL passes the check
// (the store parses it again when it connects).
func TestLoadConfigSentinel(t *testing.T) {
	for _, u := range []string{"redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/huduma",
		"rediss+sentinel://:pw@s1,s2/huduma/1?sentinel_password=sp"} {
		env := map[string]string{"REDIS_URL": u, "HUDUMA_PAYMENTS": "simulator", "HUDUMA_SMS": "record-only"}
		c, err := loadConfig(func(k string) string { return env[k] })
		if err != nil || c.RedisURL != u {
			t.Errorf("%s: %v (RedisURL %q)", u, err, c.RedisURL)
		}
	}
}

// TestConfigTableIsCurrent: docs/configuration.md's table is the one
// `huduma config` prints from the variables table.
func TestConfigTableIsCurrent(t *testing.T) {
	var out, errs strings.Builder
	if err := run(context.Background(), []string{"config", "--table"}, func(string) string { return "" }, &out, &errs); err != nil {
		t.Fatal(err, errs.String())
	}
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "-->\n"+out.String()+"<!-- config:end -->") {
		t.Fatal("docs/configuration.md's table is stale: run `make config`")
	}
	for _, v := range variables {
		if v.help == "" {
			t.Errorf("%s has no help text", v.name)
		}
	}
}

// TestPayStepsFile: HUDUMA_PAY_STEPS replaces the steps every text and
// screen gives a payer, and a file a payer could not follow stops the
// start, naming the variable, the file and the row.
func TestPayStepsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, airtel string) string {
		var b strings.Builder
		b.WriteString("network,language,steps\n")
		for _, n := range []string{"safaricom", "airtel", "equitel", "telkom", "other"} {
			for _, lang := range []string{"en", "sw"} {
				row := "Pay KES {amount} to {paybill}, account {account}."
				if n == "airtel" && lang == "en" {
					row = airtel
				}
				b.WriteString(n + "," + lang + ",\"" + row + "\"\n")
			}
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	bad := write("bad.csv", "Airtel Money: *334# > account {account}.")
	_, err := loadConfig(func(k string) string { return map[string]string{"HUDUMA_PAY_STEPS": bad}[k] })
	if want := "config: HUDUMA_PAY_STEPS: " + bad + ": pay steps line 4 (airtel, en): the steps do not name {amount}"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("a bad file: %v, want %q", err, want)
	}
	if _, err := loadConfig(func(k string) string { return map[string]string{"HUDUMA_PAY_STEPS": filepath.Join(dir, "none.csv")}[k] }); err == nil ||
		!strings.Contains(err.Error(), "config: HUDUMA_PAY_STEPS: read pay steps") {
		t.Fatalf("a missing file: %v", err)
	}
	good := write("good.csv", "Airtel Money: *334# > Lipa > Paybill {paybill} > acc {account} > KES {amount}.")
	p := newPayEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_PAY_STEPS": good})
	const airtel = "+254733000007"
	end := p.dial(airtel, "1", "3", "4001", "1", "12345", "1")
	n := invoiceRE.FindStringSubmatch(end)
	if n == nil || !strings.Contains(end, "Airtel Money: *334# > Lipa > Paybill 174379 > acc "+n[1]+" > KES 55.") {
		t.Fatalf("the END: %q", end)
	}
	if m := (&smsEnv{payEnv: p}).outboxRow(airtel, huduma.MessageInvoice); !strings.HasSuffix(m.Body, "Airtel Money: *334# > Lipa > Paybill 174379 > acc "+n[1]+" > KES 55.") {
		t.Fatalf("the invoice SMS: %q", m.Body)
	}
}

// TestConfigCommand: `huduma config` prints the settings in effect, every
// variable once, with where each value came from (the environment, its
// default, or derived from others), and never a secret: not the token,
// keys, passwords or credentials, nor a password inside a URL.
func TestConfigCommand(t *testing.T) {
	show := func(env map[string]string) map[string][2]string {
		t.Helper()
		var out, errs strings.Builder
		if err := run(context.Background(), []string{"config"}, func(k string) string { return env[k] }, &out, &errs); err != nil {
			t.Fatalf("huduma config: %v %s", err, errs.String())
		}
		for _, v := range env {
			for _, secret := range []string{"tok-0123456789abcdef", "otp-0123456789abcdef", "pgpass", "redispass", "sentpass",
				"key-aaaaaaaaaaaaaaaa", "daraja-consumer", "daraja-secret", "daraja-passkey", "c2VjcmV0", "at-api-key"} {
				if strings.Contains(v, secret) && strings.Contains(out.String(), secret) {
					t.Errorf("huduma config printed the secret %q:\n%s", secret, out.String())
				}
			}
		}
		rows := map[string][2]string{}
		for _, line := range strings.Split(out.String(), "\n") {
			f := strings.Fields(line)
			if len(f) >= 3 && strings.ToUpper(f[0]) == f[0] && strings.Contains(f[0], "_") {
				from := strings.Index(line, " environment")
				for _, w := range []string{" default", " derived: "} {
					if i := strings.Index(line, w); i > 0 && (from < 0 || i < from) {
						from = i
					}
				}
				if _, dup := rows[f[0]]; dup || from < 0 {
					t.Fatalf("line %q: a variable twice, or no source", line)
				}
				rows[f[0]] = [2]string{strings.TrimSpace(line[len(f[0]):from]), strings.TrimSpace(line[from:])}
			}
		}
		if len(rows) < len(variables) {
			t.Fatalf("%d variables shown of %d:\n%s", len(rows), len(variables), out.String())
		}
		return rows
	}
	want := func(rows map[string][2]string, name, value, from string) {
		t.Helper()
		if got := rows[name]; got[0] != value || !strings.HasPrefix(got[1], from) {
			t.Errorf("%s: %q from %q, want %q from %q", name, got[0], got[1], value, from)
		}
	}

	demo := show(map[string]string{})
	want(demo, "HUDUMA_SESSION_TTL", "180s", "default")
	want(demo, "HUDUMA_ADDR", "127.0.0.1:8080", "derived: the web phone is on")
	want(demo, "HUDUMA_PUBLIC_URL", "http://localhost:8080", "derived: HUDUMA_ADDR")
	want(demo, "HUDUMA_SIMULATOR", "on", "derived: pure demo mode")
	want(demo, "HUDUMA_PAYMENTS", "simulator", "derived: pure demo mode")
	want(demo, "HUDUMA_SMS", "record-only", "derived: pure demo mode")
	want(demo, "HUDUMA_CALLBACK_TOKEN", "(empty)", "default")

	prod := show(map[string]string{
		"HUDUMA_ADDR": ":9090", "HUDUMA_SESSION_TTL": "120s",
		"DATABASE_URL":          "postgres://huduma:pgpass@db1,db2/huduma?target_session_attrs=read-write&password=pgpass",
		"REDIS_URL":             "rediss+sentinel://:redispass@s1,s2/huduma/1?sentinel_password=sentpass",
		"HUDUMA_CALLBACK_TOKEN": "tok-0123456789abcdef", "HUDUMA_OTP_SECRET": "otp-0123456789abcdef",
		"HUDUMA_API_KEYS":    "DIS:key-aaaaaaaaaaaaaaaa",
		"MPESA_CONSUMER_KEY": "daraja-consumer", "MPESA_CONSUMER_SECRET": "daraja-secret", "MPESA_PASSKEY": "daraja-passkey",
		"MPESA_INITIATOR": "apiop", "MPESA_SECURITY_CREDENTIAL": "c2VjcmV0LWNyZWRlbnRpYWw=",
		"AT_USERNAME": "huduma", "AT_API_KEY": "at-api-key",
	})
	want(prod, "HUDUMA_SESSION_TTL", "120s", "environment")
	want(prod, "HUDUMA_ADDR", ":9090", "environment")
	want(prod, "HUDUMA_PUBLIC_URL", "http://localhost:9090", "derived: HUDUMA_ADDR")
	want(prod, "HUDUMA_CALLBACK_TOKEN", "****** (set)", "environment")
	want(prod, "MPESA_SECURITY_CREDENTIAL", "****** (set)", "environment")
	want(prod, "AT_API_KEY", "****** (set)", "environment")
	want(prod, "MPESA_INITIATOR", "apiop", "environment")
	want(prod, "HUDUMA_SIMULATOR", "off", "derived: not pure demo mode")
	want(prod, "HUDUMA_PAYMENTS", "daraja", "derived: MPESA_CONSUMER_KEY")
	want(prod, "HUDUMA_SMS", "africastalking", "derived: the africastalking SMS provider")
	if got := prod["DATABASE_URL"][0]; !strings.HasPrefix(got, "postgres://huduma:xxxxxx@db1,db2/huduma?") {
		t.Errorf("DATABASE_URL shown as %q", got)
	}

	// A configuration the gateway would refuse is refused, naming why.
	var out strings.Builder
	if err := run(context.Background(), []string{"config"}, func(k string) string { return map[string]string{"HUDUMA_SESSION_TTL": "forever"}[k] },
		&out, &out); err == nil || !strings.Contains(err.Error(), "HUDUMA_SESSION_TTL") {
		t.Fatalf("a bad setting: %v", err)
	}
	if err := run(context.Background(), []string{"config", "--tables"}, func(string) string { return "" }, &out, &out); err == nil {
		t.Fatal("an unknown flag was taken")
	}
}
