// Package testenv finds the real Postgres and Redis servers integration
// tests run against. Tests call PostgresURL or RedisURL; when the server
// does not answer they skip with a loud message, except under CI (the CI
// variable set), where a missing server is a failure.
package testenv

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// Default addresses of the local servers (DEVELOPERS.md).
const (
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
)

// PostgresURL returns TEST_DATABASE_URL (or the default) once the server
// accepts TCP connections.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return reachable(t, "TEST_DATABASE_URL", DefaultPostgresURL, "5432")
}

// RedisURL returns TEST_REDIS_URL (or the default) once the server accepts
// TCP connections.
func RedisURL(t testing.TB) string {
	t.Helper()
	return reachable(t, "TEST_REDIS_URL", DefaultRedisURL, "6379")
}

// InCI reports whether the tests run under CI, where nothing may skip.
func InCI() bool { return os.Getenv("CI") != "" }

func reachable(t testing.TB, env, def, port string) string {
	t.Helper()
	raw := os.Getenv(env)
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", env, err)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), port)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", host)
	if err != nil {
		Missing(t, fmt.Sprintf("%s: server at %s does not answer (%v)", env, host, err))
	}
	_ = conn.Close()
	return raw
}

// Missing stops a test whose outside dependency (a server, a tool, a
// package download) is not there: a loud skip on a developer's machine, a
// failure under CI, where everything must run.
func Missing(t testing.TB, what string) {
	t.Helper()
	msg := fmt.Sprintf("\n*** %s ***\n*** integration test %s NOT RUN ***", what, t.Name())
	if InCI() {
		t.Fatal(msg + " (CI is set, so this is a failure)")
	}
	t.Skip(msg)
}

// Figure records a figure a test measured (a failover time, a count):
// in the test log, and, when TEST_FIGURES names a file, appended to it as
// one line. go test shows nothing of a passing package, so `make test`
// prints that file afterwards to put the figures in CI's output.
func Figure(t testing.TB, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	path := os.Getenv("TEST_FIGURES")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Errorf("TEST_FIGURES: %v", err)
		return
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s: %s\n", t.Name(), line); err != nil {
		t.Errorf("TEST_FIGURES: %v", err)
	}
}

// FreeAddr is a loopback host:port nothing listens on right now, for a
// server a test starts.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
