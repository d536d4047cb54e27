package main

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/otp"
)

// TestSimulatorDefaults: the web phone is on by default only in pure demo
// mode; any token, key or credential turns it off unless asked for, and
// when it is on the gateway binds loopback unless HUDUMA_ADDR names a host.
func TestSimulatorDefaults(t *testing.T) {
	creds := map[string]string{"MPESA_CONSUMER_KEY": "k", "MPESA_CONSUMER_SECRET": "s", "MPESA_PASSKEY": "p", "HUDUMA_CALLBACK_TOKEN": testToken}
	cases := []struct {
		name      string
		env       map[string]string
		on, demo  bool
		wantAddr  string
		wantLocal bool
	}{
		{"nothing configured", map[string]string{}, true, true, "127.0.0.1:8080", true},
		{"callback token", map[string]string{"HUDUMA_CALLBACK_TOKEN": testToken}, false, false, ":8080", false},
		{"api keys", map[string]string{"HUDUMA_API_KEYS": testAPIKey}, false, false, ":8080", false},
		{"daraja credentials", creds, false, false, ":8080", false},
		{"africa's talking", map[string]string{"AT_USERNAME": "u", "AT_API_KEY": "k", "HUDUMA_CALLBACK_TOKEN": testToken}, false, false, ":8080", false},
		{"otp secret", map[string]string{"HUDUMA_OTP_SECRET": "0123456789abcdef"}, false, false, ":8080", false},
		{"asked for, with a token", map[string]string{"HUDUMA_SIMULATOR": "on", "HUDUMA_CALLBACK_TOKEN": testToken}, true, false, "127.0.0.1:8080", true},
		{"asked for, port only", map[string]string{"HUDUMA_SIMULATOR": "on", "HUDUMA_ADDR": ":9090"}, true, true, "127.0.0.1:9090", true},
		{"asked for on a named host", map[string]string{"HUDUMA_SIMULATOR": "on", "HUDUMA_ADDR": "0.0.0.0:9090"}, true, true, "0.0.0.0:9090", false},
		{"demo, turned off", map[string]string{"HUDUMA_SIMULATOR": "off"}, false, true, ":8080", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			simulatedOnPurpose(tc.env)
			c, err := loadConfig(func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if c.SimulatorOn() != tc.on || c.Demo() != tc.demo || c.Addr != tc.wantAddr {
				t.Fatalf("simulator %v demo %v addr %q; want %v %v %q", c.SimulatorOn(), c.Demo(), c.Addr, tc.on, tc.demo, tc.wantAddr)
			}
		})
	}
}

// TestProductionShapeNeedsToken: a shared database or real credentials
// without HUDUMA_CALLBACK_TOKEN stop the start with an error naming it;
// the documented opt-out starts, and says so in the log.
func TestProductionShapeNeedsToken(t *testing.T) {
	shapes := map[string]map[string]string{
		"postgres":         {"DATABASE_URL": "postgres://u@127.0.0.1:1/db", "HUDUMA_OTP_SECRET": "0123456789abcdef"},
		"daraja":           {"MPESA_CONSUMER_KEY": "k", "MPESA_CONSUMER_SECRET": "s", "MPESA_PASSKEY": "p"},
		"africa's talking": {"AT_USERNAME": "u", "AT_API_KEY": "k"},
		"kannel":           {"KANNEL_SENDSMS_URL": "http://127.0.0.1:1/cgi-bin/sendsms", "KANNEL_USERNAME": "u", "KANNEL_PASSWORD": "p"},
	}
	for name, env := range shapes {
		t.Run(name, func(t *testing.T) {
			env["HUDUMA_DATA_DIR"] = t.TempDir()
			err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, &strings.Builder{}, &strings.Builder{})
			if err == nil || !strings.Contains(err.Error(), "HUDUMA_CALLBACK_TOKEN") {
				t.Fatalf("start without a token: %v; want an error naming HUDUMA_CALLBACK_TOKEN", err)
			}
		})
	}
	if _, err := loadConfig(func(k string) string {
		return map[string]string{"HUDUMA_INSECURE_CALLBACKS": "yes"}[k]
	}); err == nil || !strings.Contains(err.Error(), "HUDUMA_INSECURE_CALLBACKS") {
		t.Fatalf("a vague opt-out was accepted: %v", err)
	}

	// The opt-out: the gateway starts and warns; callbacks need no token.
	p := newPayEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_CALLBACK_TOKEN": "", "HUDUMA_INSECURE_CALLBACKS": "private-network"})
	if !strings.Contains(logSink.String(), "CALLBACKS UNAUTHENTICATED") {
		t.Fatal("the opt-out was not logged at start")
	}
	if code, _ := p.post("/payments/c2b/validation", []byte(`{"TransID":"X1","TransAmount":"1","BillRefNumber":"1"}`)); code != 200 {
		t.Fatalf("validation with the opt-out: %d", code)
	}
}

// TestStrangerFindsNoSecret drives the simulator as someone with no key
// would, on a gateway with a callback token and API keys that turned the
// simulator on: no page or JSON it can read holds the token, a key or a
// one-time code, and its phone works without ever seeing the token.
func TestStrangerFindsNoSecret(t *testing.T) {
	addr := testenv.FreeAddr(t)
	p := &payEnv{t: t, base: "http://" + addr, env: map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": addr,
		"HUDUMA_PUBLIC_URL": "http://" + addr, "HUDUMA_CALLBACK_TOKEN": testToken, "HUDUMA_API_KEYS": testAPIKey,
		"HUDUMA_SIMULATOR": "on", "MPESA_STK_DELAY": "100ms"}}
	p.start()
	const phone = "+254712000300"
	e := &smsEnv{payEnv: p}
	if code, _ := e.api("POST", "/otp", testAPIKey, `{"phone":"`+phone+`","purpose":"login"}`); code != 202 {
		t.Fatalf("otp: %d", code)
	}
	msgs, err := p.g.store.Messages(context.Background(), phone, 10)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("no otp in the outbox: %v", err)
	}
	// The outbox holds the text sealed; the test opens it to know the code.
	secret, err := otpSecret(p.g.cfg)
	if err != nil {
		t.Fatal(err)
	}
	text, err := otp.NewSealer(secret).Open(msgs[0].Body)
	code := regexp.MustCompile(`\d{6}`).FindString(text)
	if err != nil || code == "" {
		t.Fatalf("otp text %q (%v) has no code", text, err)
	}

	// The phone dials through its own route, without the token.
	session := "ATUid_stranger_1"
	for i, text := range []string{"", "1", "1*3", "1*3*1003"} {
		status, body := p.postForm("/simulator/ussd", url.Values{"sessionId": {session}, "serviceCode": {"*2222#"},
			"phoneNumber": {phone}, "networkCode": {"63902"}, "text": {text}})
		if status != 200 || !strings.HasPrefix(body, "CON ") {
			t.Fatalf("simulator hop %d: %d %q", i, status, body)
		}
	}
	if status, _ := p.postForm("/ussd/africastalking", url.Values{"sessionId": {"x"}, "serviceCode": {"*2222#"},
		"phoneNumber": {phone}, "text": {""}}); status != 403 {
		t.Fatalf("the aggregator route without the token: %d, want 403", status)
	}

	var inbox string
	for _, path := range []string{"/simulator", "/simulator/", "/simulator/index.html", "/simulator/phone.js", "/simulator/phone.css",
		"/simulator/config.json", "/simulator/inbox?phone=" + url.QueryEscape(phone), "/simulator/inbox?phone=0712000300",
		"/api/v1/openapi.json", "/healthz", "/readyz", "/metrics"} {
		status, body := p.getPath(path)
		if status >= 500 {
			t.Errorf("%s: %d", path, status)
		}
		for what, secret := range map[string]string{"callback token": testToken, "api key": testAPIKey, "one-time code": code} {
			if strings.Contains(body, secret) {
				t.Errorf("%s reveals the %s", path, what)
			}
		}
		if strings.HasPrefix(path, "/simulator/inbox?phone=%2B") {
			inbox = body
		}
	}
	if !strings.Contains(inbox, `"kind":"otp"`) || !strings.Contains(inbox, "code is ******") {
		t.Fatalf("the inbox does not show the masked code: %s", inbox)
	}
	if _, body := p.getPath("/simulator/config.json"); !strings.Contains(body, `"ussd_url":"/simulator/ussd"`) {
		t.Fatalf("config.json: %s", body)
	}
}
