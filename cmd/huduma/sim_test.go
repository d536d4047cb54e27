package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/testenv"
)

// TestSimScript replays the shipped pay journey with `huduma sim --script`
// against an embedded gateway (M-Pesa simulator, record-only SMS), then
// checks that a journey that goes differently exits with an error.
func TestSimScript(t *testing.T) {
	p, sim := simGateway(t, map[string]string{"MPESA_STK_DELAY": "300ms"})

	out, errOut, err := sim("../../testdata/sim/pay.script")
	if err != nil {
		t.Fatalf("pay.script: %v\n%s\n%s", err, errOut, out)
	}
	for _, want := range []string{"journey matched (22 steps)", "[SMS receipt] PAID: eCitizen invoice", "| Birth certificate"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	bad := filepath.Join(t.TempDir(), "bad.script")
	os.WriteFile(bad, []byte("dial\nsend 1\nexpect Browse by category\nexpect ^Pay an invoice\n"), 0o644)
	_, errOut, err = sim(bad)
	if !errors.Is(err, errMismatch) || !strings.Contains(errOut, "line 4: expect ^Pay an invoice") {
		t.Fatalf("a mismatching script: %v, %q", err, errOut)
	}

	// Without the token the gateway refuses, and sim says why.
	var discard bytes.Buffer
	err = run(context.Background(), []string{"sim", "--url", p.base, "--script", bad}, func(string) string { return "" }, &discard, &discard)
	if err == nil || !strings.Contains(err.Error(), "--token") {
		t.Fatalf("no token: %v", err)
	}
}

// simGateway starts an embedded gateway with the simulators on (and env
// on top) and returns it with a runner of `huduma sim --script` against
// it from 0712345600: its output, its errors and its outcome.
func simGateway(t *testing.T, env map[string]string) (*payEnv, func(script string) (string, string, error)) {
	addr := testenv.FreeAddr(t)
	p := &payEnv{t: t, base: "http://" + addr, env: map[string]string{
		"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": addr, "HUDUMA_PUBLIC_URL": "http://" + addr,
		"HUDUMA_CALLBACK_TOKEN": testToken, "HUDUMA_RESUME_WINDOW": "0", "HUDUMA_SIMULATOR": "on",
	}}
	for k, v := range env {
		p.env[k] = v
	}
	p.start()
	return p, func(script string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"sim", "--url", p.base, "--token", testToken, "--phone", "0712345600",
			"--script", script, "--sms-wait", "20s"}, func(string) string { return "" }, &out, &errOut)
		return out.String(), errOut.String(), err
	}
}

// TestSimScriptECitizen replays the shipped e-Citizen pay journey with
// `huduma sim --script` against a gateway on the ecitizen backend with
// HUDUMA_PAYMENTS=simulator: the END shows e-Citizen's bill number, the
// fake e-Citizen's prompt is paid and its notification makes the invoice
// paid with one receipt; the invoice carries the bill the END showed.
func TestSimScriptECitizen(t *testing.T) {
	p, sim := simGateway(t, map[string]string{"HUDUMA_BILLING": "ecitizen", "HUDUMA_PAYMENTS": "simulator"})
	out, errOut, err := sim("../../testdata/sim/pay-ecitizen.script")
	if err != nil {
		t.Fatalf("pay-ecitizen.script: %v\n%s\n%s", err, errOut, out)
	}
	if !strings.Contains(out, "journey matched (19 steps)") {
		t.Fatalf("output:\n%s", out)
	}
	m := regexp.MustCompile(`Invoice (\d{10}) +\|\n *\| eCitizen bill ([A-Z0-9]+) `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no END with a bill number in:\n%s", out)
	}
	inv := p.invoice(huduma.InvoiceNumber(m[1]))
	if inv.Bill != m[2] || inv.Status != huduma.InvoicePaid || p.receipts(inv.Phone) != 1 {
		t.Fatalf("invoice %+v, %d receipts, after an END showing bill %s", inv, p.receipts(inv.Phone), m[2])
	}
}

// TestSimulatorSwitch: the web phone and the inbox are served only when
// enabled (on by default embedded; off with Postgres unless asked for).
func TestSimulatorSwitch(t *testing.T) {
	cases := []struct {
		name string
		env  func(t *testing.T) map[string]string
		want int
	}{
		{"embedded default", func(t *testing.T) map[string]string { return map[string]string{"HUDUMA_DATA_DIR": t.TempDir()} }, 200},
		{"embedded off", func(t *testing.T) map[string]string {
			return map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_SIMULATOR": "off"}
		}, 404},
		{"postgres default", func(t *testing.T) map[string]string {
			return map[string]string{"DATABASE_URL": freshSchema(t), "HUDUMA_OTP_SECRET": "sim-switch-otp-secret", "HUDUMA_CALLBACK_TOKEN": testToken}
		}, 404},
		{"postgres on", func(t *testing.T) map[string]string {
			return map[string]string{"DATABASE_URL": freshSchema(t), "HUDUMA_OTP_SECRET": "sim-switch-otp-secret", "HUDUMA_CALLBACK_TOKEN": testToken,
				"HUDUMA_SIMULATOR": "on"}
		}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := testenv.FreeAddr(t)
			env := tc.env(t)
			env["HUDUMA_ADDR"], env["HUDUMA_PUBLIC_URL"] = addr, "http://"+addr
			p := &payEnv{t: t, base: "http://" + addr, env: env}
			p.start()
			for _, path := range []string{"/simulator", "/simulator/inbox?phone=0712345600", "/simulator/phone.js"} {
				resp, err := http.Get(p.base + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("%s: %d, want %d", path, resp.StatusCode, tc.want)
				}
			}
		})
	}
}

// TestSimHelp: `huduma sim --help` (and -h) prints every flag as it is
// typed, with its argument and default, to stdout, and succeeds; it never
// prints the callback token it would use. A flag it does not know is a
// usage error, explained on stderr.
func TestSimHelp(t *testing.T) {
	env := map[string]string{"HUDUMA_CALLBACK_TOKEN": "sim-help-token-0123456789"}
	for _, arg := range []string{"--help", "-h"} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), []string{"sim", arg}, func(k string) string { return env[k] }, &out, &errOut); err != nil {
			t.Fatalf("sim %s: %v", arg, err)
		}
		if errOut.Len() != 0 {
			t.Errorf("sim %s wrote to stderr: %q", arg, errOut.String())
		}
		help := out.String()
		for _, want := range []string{"--url URL", "--phone NUMBER", "--code CODE", "--token TOKEN", "--script FILE", "--sms-wait DURATION",
			"(default http://localhost:8080)", "(default +254712345600)", "(default *2222#)", "(default 20s)", "$HUDUMA_CALLBACK_TOKEN",
			"[--sms-wait DURATION]", "expect REGEXP"} {
			if !strings.Contains(help, want) {
				t.Errorf("sim %s lacks %q:\n%s", arg, want, help)
			}
		}
		if strings.Contains(help, env["HUDUMA_CALLBACK_TOKEN"]) || strings.Contains(help, "`") {
			t.Errorf("sim %s printed the token or a stray backquote:\n%s", arg, help)
		}
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"sim", "--nope"}, func(string) string { return "" }, &out, &errOut); !errors.Is(err, errUsage) ||
		!strings.Contains(errOut.String(), "-nope") || !strings.Contains(errOut.String(), "usage: huduma sim") {
		t.Fatalf("an unknown flag: %v %q", err, errOut.String())
	}
}

// TestReplayPhoneIsNotTheWebPhones: the web phone holds its number's
// M-Pesa prompts (they wait for a person there) and may leave a session
// on it midway (a resume offer at the next dial), so the numbers the
// terminal phone and the README's replay dial by default must be none of
// the web phone's.
func TestReplayPhoneIsNotTheWebPhones(t *testing.T) {
	var help bytes.Buffer
	if err := run(context.Background(), []string{"sim", "--help"}, func(string) string { return "" }, &help, &help); err != nil {
		t.Fatal(err)
	}
	phones := regexp.MustCompile(`\(default (\+254\d{9})\)`).FindAllStringSubmatch(help.String(), -1)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	phones = append(phones, regexp.MustCompile(`huduma sim[^\n]* --phone (\S+)`).FindAllStringSubmatch(string(readme), -1)...)
	if len(phones) < 2 {
		t.Fatalf("found %d replay numbers (the sim default and the README's)", len(phones))
	}
	var config struct {
		Networks []struct{ Number string }
	}
	g := &payEnv{t: t, env: map[string]string{"HUDUMA_DATA_DIR": t.TempDir()}}
	addr := testenv.FreeAddr(t)
	g.base, g.env["HUDUMA_ADDR"], g.env["HUDUMA_PUBLIC_URL"] = "http://"+addr, addr, "http://"+addr
	g.start()
	resp, err := http.Get(g.base + "/simulator/config.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&config); err != nil || len(config.Networks) == 0 {
		t.Fatalf("config.json: %v %+v", err, config)
	}
	for _, m := range phones {
		replay, err := huduma.ParseMSISDN(m[1])
		if err != nil {
			t.Fatalf("replay number %q: %v", m[1], err)
		}
		for _, n := range config.Networks {
			if web, _ := huduma.ParseMSISDN(n.Number); web == replay {
				t.Errorf("%s is both a replay's number and the web phone's", replay)
			}
		}
	}
}
