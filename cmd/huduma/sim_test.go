package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma/internal/testenv"
)

// TestSimScript replays the shipped pay journey with `huduma sim --script`
// against an embedded gateway (M-Pesa simulator, record-only SMS), then
// checks that a journey that goes differently exits with an error.
func TestSimScript(t *testing.T) {
	addr := testenv.FreeAddr(t)
	p := &payEnv{t: t, base: "http://" + addr, env: map[string]string{
		"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": addr, "HUDUMA_PUBLIC_URL": "http://" + addr,
		"HUDUMA_CALLBACK_TOKEN": testToken, "MPESA_STK_DELAY": "300ms", "HUDUMA_RESUME_WINDOW": "0", "HUDUMA_SIMULATOR": "on",
	}}
	p.start()
	sim := func(script string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"sim", "--url", p.base, "--token", testToken, "--phone", "0712345600",
			"--script", script, "--sms-wait", "20s"}, func(string) string { return "" }, &out, &errOut)
		return out.String(), errOut.String(), err
	}

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
