package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

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
				"HUDUMA_REDIS_PREFIX":   redisPrefix(t),
				"HUDUMA_OTP_SECRET":     "journey-test-otp-secret",
				"HUDUMA_CALLBACK_TOKEN": testToken,
			}
		},
	}
}

// redisPrefix is a key prefix of its own for one test's gateways, whose
// keys go when the test ends: the Redis server is shared with other tests
// and runs, and phones' languages and resume pointers live there.
func redisPrefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "hudumatest:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		opt, err := redis.ParseURL(testenv.RedisURL(t))
		if err != nil {
			return
		}
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		ctx := context.Background()
		if keys, _ := rdb.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	return prefix
}

// freshSchema creates an empty schema in the test database and returns a
// URL whose search_path points at it, so parallel test runs never meet.
func freshSchema(t testing.TB) string {
	t.Helper()
	dbURL, _ := testenv.PostgresSchema(t, "huduma_journey_")
	return dbURL
}

// startGateway builds a gateway from env (on top of an empty environment)
// and returns a function that posts one AT USSD hop.
func startGateway(t *testing.T, env map[string]string) (*gateway, func(form url.Values) (int, string)) {
	t.Helper()
	simulatedOnPurpose(env)
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := testLogger()
	g, err := newGateway(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	g.start()
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
