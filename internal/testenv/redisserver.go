package testenv

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// PrivateRedis starts a redis-server of the test's own on a free loopback
// port, without persistence, stopped when the test ends, and returns its
// URL. It is for tests that read server-wide figures (INFO commandstats),
// which the shared server's other clients would disturb.
func PrivateRedis(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		Missing(t, "redis-server is not installed (apt install redis-server)")
	}
	addr := FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(5 * time.Second); ; {
		conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			_ = conn.Close()
			return "redis://" + addr + "/0"
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// RedisCommands is how many commands the server rdb talks to has run so
// far, scripts' inner calls included, by command name ("mget", "evalsha",
// "set"), leaving out the INFO calls that ask. Two readings around some
// work count its commands on a PrivateRedis.
func RedisCommands(t testing.TB, rdb *redis.Client) map[string]int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") || name == "cmdstat_info" {
			continue
		}
		n, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			t.Fatalf("commandstats line %q", line)
		}
		calls[strings.TrimPrefix(name, "cmdstat_")] = v
	}
	return calls
}

// HopCommands is how many commands ran between two RedisCommands
// readings, leaving out the session store's active-index flush (a ZADD
// and a ZREMRANGEBYSCORE about once a second per process, whatever the
// traffic), which belongs to no hop, the handshake of a connection the
// client opens (HELLO, CLIENT SETINFO), which the flush racing a hop for a
// connection can cause once and no hop repeats, and the PING the client
// sends down a connection that has been quiet for a while.
func HopCommands(before, after map[string]int64) int64 {
	var n int64
	for name, v := range after {
		if !notAHop[name] {
			n += v - before[name]
		}
	}
	return n
}

// notAHop names the commands HopCommands leaves out.
var notAHop = map[string]bool{"zadd": true, "zremrangebyscore": true, "hello": true, "client|setinfo": true, "client": true, "ping": true}
