package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/gsm7"
	"github.com/huduma-ke/huduma/internal/testenv"
)

// backends returns the environments journeys run in: the embedded
// defaults, and Postgres + Redis.
func backends(t *testing.T) map[string]func(t *testing.T) map[string]string {
	return map[string]func(t *testing.T) map[string]string{
		"embedded": func(t *testing.T) map[string]string {
			return map[string]string{"HUDUMA_DATA_DIR": t.TempDir()}
		},
		"postgres+redis": func(t *testing.T) map[string]string {
			return map[string]string{
				"DATABASE_URL":          freshSchema(t),
				"REDIS_URL":             testenv.RedisURL(t),
				"HUDUMA_OTP_SECRET":     "journey-test-otp-secret",
				"HUDUMA_CALLBACK_TOKEN": testToken,
			}
		},
	}
}

// freshSchema creates an empty schema in the test database and returns a
// URL whose search_path points at it, so parallel test runs never meet.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := testenv.PostgresURL(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "huduma_journey_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}

// startGateway builds a gateway from env (on top of an empty environment)
// and returns a function that posts one AT USSD hop.
func startGateway(t *testing.T, env map[string]string) (*gateway, func(form url.Values) (int, string)) {
	t.Helper()
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := testLogger()
	g, err := newGateway(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.close)
	hop := func(form url.Values) (int, string) {
		path := "/ussd/africastalking"
		if cfg.CallbackTok != "" {
			path += "?token=" + url.QueryEscape(cfg.CallbackTok)
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := g.server.App().Test(req, -1)
		if err != nil {
			t.Fatalf("hop: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	return g, hop
}

func TestJourneys(t *testing.T) {
	files, err := filepath.Glob("../../testdata/journeys/*.journey")
	if err != nil || len(files) == 0 {
		t.Fatalf("no journey files: %v", err)
	}
	for name, env := range backends(t) {
		t.Run(name, func(t *testing.T) {
			e := env(t)
			// Journey files reuse phones across runs on a long-lived Redis;
			// the resume offer has its own tests (resume_test.go).
			e["HUDUMA_RESUME_WINDOW"] = "0"
			_, hop := startGateway(t, e)
			for _, f := range files {
				t.Run(filepath.Base(f), func(t *testing.T) { runJourney(t, f, hop) })
			}
		})
	}
}

// runJourney plays one journey file (syntax in testdata/journeys/README.md).
func runJourney(t *testing.T, path string, hop func(url.Values) (int, string)) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		phone, session, text, screen, prev string
		inputs                             []string
		n                                  int
	)
	send := func(line int, cumulative string) {
		if session == "" {
			t.Fatalf("line %d: input before dial", line)
		}
		prev = screen
		status, body := hop(url.Values{"sessionId": {session}, "serviceCode": {"*2222#"},
			"phoneNumber": {phone}, "networkCode": {"63902"}, "text": {cumulative}})
		if status != http.StatusOK {
			t.Fatalf("line %d: status %d: %s", line, status, body)
		}
		screen = body
		content := strings.TrimPrefix(strings.TrimPrefix(body, "CON "), "END ")
		if content == body {
			t.Fatalf("line %d: reply lacks CON/END: %q", line, body)
		}
		if k, ok := gsm7.Septets(content); k > huduma.MaxScreen || !ok {
			t.Fatalf("line %d: screen breaks page rules (%d septets):\n%s", line, k, body)
		}
		text = cumulative
	}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		raw := sc.Text()
		l := strings.TrimSpace(raw)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "dial "):
			n++
			phone = strings.TrimSpace(l[5:])
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			session = fmt.Sprintf("ATUid_journey_%d_%s", n, hex.EncodeToString(b))
			inputs = nil
			send(line, "")
		case strings.HasPrefix(l, ">>"):
			send(line, strings.TrimSpace(strings.TrimPrefix(raw, ">>")))
		case strings.HasPrefix(l, ">"):
			inputs = append(inputs, strings.TrimSpace(l[1:]))
			send(line, strings.Join(inputs, "*"))
		case strings.HasPrefix(l, "= "):
			if !strings.HasPrefix(screen, strings.TrimSpace(l[2:])+" ") {
				t.Errorf("%s:%d: want %s, screen after %q:\n%s", path, line, l[2:], text, screen)
			}
		case strings.HasPrefix(l, "!~ "):
			if strings.Contains(screen, l[3:]) {
				t.Errorf("%s:%d: screen has %q, after %q:\n%s", path, line, l[3:], text, screen)
			}
		case strings.HasPrefix(l, "~ "):
			if !strings.Contains(screen, l[2:]) {
				t.Errorf("%s:%d: screen lacks %q, after %q:\n%s", path, line, l[2:], text, screen)
			}
		case l == "same":
			if screen != prev {
				t.Errorf("%s:%d: screen changed after %q:\nwas:\n%s\nnow:\n%s", path, line, text, prev, screen)
			}
		default:
			t.Fatalf("%s:%d: unknown directive %q", path, line, l)
		}
	}
}
