package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/providers"
)

// simulatedOnPurpose makes a test gateway's environment choose by name
// what it fakes, as an operator must for a production-shaped gateway:
// HUDUMA_PAYMENTS=simulator without Daraja credentials, HUDUMA_SMS=
// record-only without an SMS provider. Pure demo mode is left as it is,
// and so is a variable the test set itself (even to ""). The shared
// helpers that start gateways call it, so a new test gets it too.
func simulatedOnPurpose(env map[string]string) {
	try := maps.Clone(env)
	if _, chosen := env["HUDUMA_PAYMENTS"]; !chosen && env["MPESA_CONSUMER_KEY"] == "" {
		try["HUDUMA_PAYMENTS"] = "simulator"
	}
	if _, chosen := env["HUDUMA_SMS"]; !chosen {
		if p, err := providers.SelectSMS(func(k string) string { return try[k] }); err == nil && p == nil {
			try["HUDUMA_SMS"] = "record-only"
		}
	}
	cfg, err := loadConfig(func(k string) string { return try[k] })
	if err != nil || cfg.Demo() {
		return // the test's own loadConfig reports its error
	}
	for _, k := range []string{"HUDUMA_PAYMENTS", "HUDUMA_SMS"} {
		if v, ok := try[k]; ok {
			env[k] = v
		}
	}
}

// TestNoSimulatedMoneyOutsideTheDemo: a production-shaped gateway (any
// shared backend, secret or credential) without Daraja credentials
// refuses to start, naming the variables, unless HUDUMA_PAYMENTS says
// simulator; without an SMS provider, unless HUDUMA_SMS says
// record-only. The two choices beside real credentials are refused.
// Pure demo mode starts as before, simulating both.
func TestNoSimulatedMoneyOutsideTheDemo(t *testing.T) {
	daraja := map[string]string{"MPESA_CONSUMER_KEY": "k", "MPESA_CONSUMER_SECRET": "s", "MPESA_PASSKEY": "p"}
	at := map[string]string{"AT_USERNAME": "u", "AT_API_KEY": "k"}
	with := func(envs ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, e := range envs {
			maps.Copy(out, e)
		}
		return out
	}
	tester := map[string]string{"DATABASE_URL": "postgres://u@127.0.0.1:1/db", "REDIS_URL": "redis://127.0.0.1:1/0",
		"HUDUMA_CALLBACK_TOKEN": testToken, "HUDUMA_API_KEYS": testAPIKey, "HUDUMA_OTP_SECRET": "0123456789abcdef"}
	token := map[string]string{"HUDUMA_CALLBACK_TOKEN": testToken}
	cases := []struct {
		name string
		env  map[string]string
		// want are pieces of the error; none: it starts.
		want []string
	}{
		{"the tester's gateway: Postgres, Redis, a token, keys, an OTP secret", tester,
			[]string{"MPESA_CONSUMER_KEY", "MPESA_CONSUMER_SECRET", "MPESA_PASSKEY", "HUDUMA_PAYMENTS=simulator",
				"DATABASE_URL, REDIS_URL, HUDUMA_CALLBACK_TOKEN, HUDUMA_API_KEYS, HUDUMA_OTP_SECRET set"}},
		{"redis alone", map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0"}, []string{"MPESA_CONSUMER_KEY", "REDIS_URL set"}},
		{"a token alone", token, []string{"MPESA_CONSUMER_KEY", "HUDUMA_CALLBACK_TOKEN set"}},
		{"api keys alone", map[string]string{"HUDUMA_API_KEYS": testAPIKey}, []string{"HUDUMA_PAYMENTS=simulator", "HUDUMA_API_KEYS set"}},
		{"an sms provider and a token", with(at, token), []string{"MPESA_CONSUMER_KEY", "the africastalking SMS provider's variables"}},
		{"payments chosen, no SMS provider", with(tester, map[string]string{"HUDUMA_PAYMENTS": "simulator"}),
			[]string{"HUDUMA_SMS=record-only", "AT_USERNAME", "AT_API_KEY", "KANNEL_SENDSMS_URL"}},
		{"daraja, no SMS provider", with(daraja, token), []string{"HUDUMA_SMS", "AT_USERNAME", "KANNEL_SENDSMS_URL", "HUDUMA_CALLBACK_TOKEN, MPESA_CONSUMER_KEY set"}},
		{"both chosen", with(tester, map[string]string{"HUDUMA_PAYMENTS": "simulator", "HUDUMA_SMS": "record-only"}), nil},
		{"real daraja and AT", with(daraja, at, token), nil},
		{"simulator beside daraja credentials", with(daraja, at, token, map[string]string{"HUDUMA_PAYMENTS": "simulator"}),
			[]string{"HUDUMA_PAYMENTS", "beside Daraja credentials"}},
		{"record-only beside an SMS provider", with(daraja, at, token, map[string]string{"HUDUMA_SMS": "record-only"}),
			[]string{"HUDUMA_SMS", "beside the SMS provider africastalking"}},
		{"a vague payments value", map[string]string{"HUDUMA_PAYMENTS": "fake"}, []string{"HUDUMA_PAYMENTS", "simulator"}},
		{"a vague sms value", map[string]string{"HUDUMA_SMS": "none"}, []string{"HUDUMA_SMS", "record-only"}},
		{"pure demo", map[string]string{}, nil},
		{"pure demo, chosen anyway", map[string]string{"HUDUMA_PAYMENTS": "simulator", "HUDUMA_SMS": "record-only"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(func(k string) string { return tc.env[k] })
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("started (simulated %v), want a refusal naming %v", c.Simulated(), tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	// What each start fakes.
	for name, want := range map[string]string{"pure demo": "payments,sms", "real daraja and AT": "", "both chosen": "payments,sms"} {
		for _, tc := range cases {
			if tc.name == name {
				c, err := loadConfig(func(k string) string { return tc.env[k] })
				if err != nil || strings.Join(c.Simulated(), ",") != want {
					t.Errorf("%s: simulated %v (%v), want %q", name, c.Simulated(), err, want)
				}
			}
		}
	}
}

// served is a gateway started as `huduma serve` would be, through run().
type served struct {
	base string
	logs *syncBuffer
	stop func() error
}

// runServe starts run(serve) with env and waits for it to say it serves
// (or to fail: then the test fails with its error and logs). Its logs
// also go to logSink for the privacy scan.
func runServe(t *testing.T, env map[string]string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, io.MultiWriter(logSink, logs))
	}()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			return errors.New("serve did not stop within 20 s")
		}
	}
	t.Cleanup(func() { _ = stop() })
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(logs.String(), `"msg":"huduma serving"`); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving after 20 s:\n%s", logs)
		}
	}
	return &served{base: "http://" + env["HUDUMA_ADDR"], logs: logs, stop: stop}
}

func (s *served) get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// warnings returns the messages of the WARN lines in the logs.
func (s *served) warnings(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		var m struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &m) == nil && m.Level == "WARN" {
			out = append(out, m.Msg)
		}
	}
	return out
}

func countPrefixed(msgs []string, prefix string) int {
	n := 0
	for _, m := range msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

// TestSimulatedPaymentsSayItEverywhere: a production-shaped gateway that
// chose the payment simulator and record-only SMS warns at every start,
// says so on /readyz and /metrics, and every receipt a payer can read
// from the simulator (the receipt SMS, the USSD status screen, the
// STATUS reply, the API) says SIMULATED. A gateway on real Daraja
// credentials says none of it.
func TestSimulatedPaymentsSayItEverywhere(t *testing.T) {
	addr := testenv.FreeAddr(t)
	env := map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": addr, "HUDUMA_CALLBACK_TOKEN": testToken,
		"HUDUMA_API_KEYS": testAPIKey, "HUDUMA_OTP_SECRET": "simulated-otp-secret-0001", "HUDUMA_SIMULATOR": "on",
		"HUDUMA_PAYMENTS": "simulator", "HUDUMA_SMS": "record-only", "MPESA_STK_DELAY": "100ms", "HUDUMA_RESUME_WINDOW": "0"}
	s := runServe(t, env)
	warned := s.warnings(t)
	if countPrefixed(warned, "PAYMENTS SIMULATED") != 1 || countPrefixed(warned, "SMS RECORD-ONLY") != 1 {
		t.Fatalf("start warnings %q, want one PAYMENTS SIMULATED and one SMS RECORD-ONLY", warned)
	}
	if code, body := s.get(t, s.base+"/readyz"); code != 200 || !strings.Contains(body, `"simulated":["payments","sms"]`) {
		t.Fatalf("readyz: %d %s, want simulated payments and sms", code, body)
	}
	_, m := s.get(t, s.base+"/metrics")
	for _, want := range []string{`huduma_simulated{what="payments"} 1`, `huduma_simulated{what="sms"} 1`} {
		if !strings.Contains(m, want) {
			t.Fatalf("metrics lack %s", want)
		}
	}

	// A payment the simulator makes: phone ending 00 pays.
	p := &payEnv{t: t, base: s.base}
	const phone = "+254712000500"
	n, _ := p.order(phone)
	api := func(path string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.base+"/api/v1"+path, nil)
		req.Header.Set("Authorization", "Bearer "+testAPIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out
	}
	var receipt string
	for deadline := time.Now().Add(20 * time.Second); receipt == ""; time.Sleep(100 * time.Millisecond) {
		inv := api("/invoices/" + string(n))
		if inv["status"] == "paid" {
			receipt, _ = inv["mpesa_receipt"].(string)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("invoice %s not paid by the simulator within 20 s: %v", n, inv)
		}
	}
	if !strings.HasPrefix(receipt, "SIMULATED") {
		t.Fatalf("the API's receipt %q does not say SIMULATED", receipt)
	}
	inbox := func() []string {
		t.Helper()
		_, body := s.get(t, s.base+"/simulator/inbox?phone="+phone)
		var in struct {
			Messages []struct{ Kind, Body string }
		}
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, m := range in.Messages {
			texts = append(texts, m.Kind+": "+m.Body)
		}
		return texts
	}
	waitText := func(kind, want string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			for _, m := range inbox() {
				if strings.HasPrefix(m, kind+": ") && strings.Contains(m, want) {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s text with %q: %q", kind, want, inbox())
			}
		}
	}
	waitText("receipt", "M-Pesa ref "+receipt)
	if screen := p.dial(phone, "3", string(n)); !strings.Contains(screen, "PAID") || !strings.Contains(screen, receipt) {
		t.Fatalf("status screen %q does not show the SIMULATED receipt %s", screen, receipt)
	}
	resp, err := http.Post(s.base+"/simulator/sms", "application/json", strings.NewReader(`{"id":"status-1","phone":"`+phone+`","text":"STATUS `+string(n)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitText("reply", "PAID (KES 4600), M-Pesa ref "+receipt)

	// Every start warns, not only the first.
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	s = runServe(t, env)
	if w := s.warnings(t); countPrefixed(w, "PAYMENTS SIMULATED") != 1 || countPrefixed(w, "SMS RECORD-ONLY") != 1 {
		t.Fatalf("second start warnings %q", w)
	}

	// Real Daraja credentials (a fake Daraja standing in): nothing
	// simulated about the payments, and no SIMULATED in the receipt.
	real := newPayEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir()})
	if _, body := real.getPath("/readyz"); strings.Contains(body, "payments") {
		t.Fatalf("readyz of a gateway on Daraja: %s", body)
	}
	rn, _ := real.order("+254712000600")
	inv := real.waitStatus(rn, huduma.InvoicePaid, 20*time.Second)
	if strings.Contains(inv.MpesaReceipt, "SIMULATED") || len(inv.MpesaReceipt) != 10 {
		t.Fatalf("receipt from Daraja %q", inv.MpesaReceipt)
	}
}

// TestStartupFailuresSayWhat: every start-up failure (the database,
// Redis, the data folder, a port in use) ends the real binary with exit
// status 1 and the error naming what failed, without a panic, and
// without "serving" ever logged.
func TestStartupFailuresSayWhat(t *testing.T) {
	bin := binary(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	notADir := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(notADir, []byte("a file where the data folder should be"), 0o600); err != nil {
		t.Fatal(err)
	}
	dbIsADir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dbIsADir, "huduma.db"), 0o700); err != nil {
		t.Fatal(err)
	}
	closed := testenv.FreeAddr(t) // nothing listens there
	prod := map[string]string{"HUDUMA_CALLBACK_TOKEN": testToken, "HUDUMA_OTP_SECRET": "startup-test-otp-secret",
		"HUDUMA_PAYMENTS": "simulator", "HUDUMA_SMS": "record-only"}
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"database", map[string]string{"DATABASE_URL": "postgres://huduma@" + closed + "/huduma?sslmode=disable"}, []string{"open postgres", closed}},
		{"redis", map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "REDIS_URL": "redis://" + closed + "/0"}, []string{"open redis", closed}},
		{"data folder", map[string]string{"HUDUMA_DATA_DIR": notADir}, []string{"create data dir", notADir, "not a directory"}},
		{"database file", map[string]string{"HUDUMA_DATA_DIR": dbIsADir}, []string{"embedded database", "huduma.db"}},
		{"port in use", map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": busy.Addr().String()},
			[]string{"HUDUMA_ADDR: listen on " + busy.Addr().String(), "address already in use"}},
		{"metrics port in use", map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": testenv.FreeAddr(t), "HUDUMA_METRICS_ADDR": busy.Addr().String()},
			[]string{"HUDUMA_METRICS_ADDR: listen on " + busy.Addr().String(), "address already in use"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "serve")
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			for k, v := range prod {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			if tc.env["HUDUMA_ADDR"] == "" {
				cmd.Env = append(cmd.Env, "HUDUMA_ADDR="+testenv.FreeAddr(t))
			}
			for k, v := range tc.env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.CombinedOutput()
			logSink.Write(out)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit %v, want status 1; output:\n%s", err, out)
			}
			// The error is the end of the output, from "huduma: " on (a
			// driver's error may take more than one line).
			i := strings.LastIndex(string(out), "\nhuduma: ")
			if i < 0 && strings.HasPrefix(string(out), "huduma: ") {
				i = -1
			} else if i < 0 {
				t.Fatalf("no error at the end of the output:\n%s", out)
			}
			msg := string(out[i+1:])
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not name %q", msg, w)
				}
			}
			for _, bad := range []string{"panic", "goroutine ", `"msg":"huduma serving"`} {
				if strings.Contains(string(out), bad) {
					t.Errorf("output has %q:\n%s", bad, out)
				}
			}
		})
	}
}

// TestMetricsOnTheirOwnListener: with HUDUMA_METRICS_ADDR set, /metrics
// is served there, and only there: the main port (the one providers
// call) answers 404 for it.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	addr, metricsAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	s := runServe(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": addr, "HUDUMA_METRICS_ADDR": metricsAddr})
	if code, _ := s.get(t, s.base+"/metrics"); code != 404 {
		t.Fatalf("/metrics on the main port: %d, want 404", code)
	}
	code, body := s.get(t, "http://"+metricsAddr+"/metrics")
	if code != 200 || !strings.Contains(body, `huduma_simulated{what="payments"} 1`) || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics on %s: %d, want 200 with the gateway's series", metricsAddr, code)
	}
	for _, path := range []string{"/readyz", "/ussd/africastalking", "/simulator"} {
		if code, _ := s.get(t, "http://"+metricsAddr+path); code != 404 {
			t.Errorf("%s on the metrics port: %d, want 404", path, code)
		}
	}
	if code, _ := s.get(t, s.base+"/readyz"); code != 200 {
		t.Fatalf("readyz on the main port: %d", code)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	// Both ports are free again once it stopped.
	for _, a := range []string{addr, metricsAddr} {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("%s still bound after stop: %v", a, err)
		}
		ln.Close()
	}
}
