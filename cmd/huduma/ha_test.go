package main

import (
	"context"
	"database/sql"
	endian "encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/sessions"
	"github.com/huduma-ke/huduma/sessions/redisstore"
	"github.com/huduma-ke/huduma/store/pgstore"
	"github.com/huduma-ke/huduma/ussd"
)

// Sentinel timings for the failover test: small, so it runs in seconds.
// Production wants a few seconds of down-after (docs/operations.md).
const (
	sentinelDownAfter       = time.Second
	sentinelFailoverTimeout = 5 * time.Second
	sentinelMaster          = "huduma"
)

// redisHA is a Sentinel-managed Redis on loopback, every part a real
// process: a primary, a replica of it and three Sentinels (Debian's
// redis-server and redis-sentinel).
type redisHA struct {
	t                *testing.T
	dir              string
	primary, replica *exec.Cmd
	primaryAddr      string
	replicaAddr      string
	sentinelAddrs    []string
}

func startRedisHA(t *testing.T) *redisHA {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-sentinel"} {
		if _, err := exec.LookPath(bin); err != nil {
			testenv.Missing(t, bin+" is not installed (apt install redis-server redis-sentinel)")
		}
	}
	h := &redisHA{t: t, dir: t.TempDir()}
	h.primaryAddr, h.replicaAddr = testenv.FreeAddr(t), testenv.FreeAddr(t)
	_, primaryPort, _ := net.SplitHostPort(h.primaryAddr)
	server := func(name, addr string, extra ...string) *exec.Cmd {
		_, port, _ := net.SplitHostPort(addr)
		// No persistence: the replica's copy is all a failover keeps,
		// which is what the test is about. Diskless sync without delay
		// makes the replica's first sync immediate.
		args := append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", h.dir,
			"--dbfilename", name + ".rdb", "--logfile", filepath.Join(h.dir, name+".log"),
			"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"}, extra...)
		return h.start("redis-server", args...)
	}
	h.primary = server("primary", h.primaryAddr)
	h.replica = server("replica", h.replicaAddr, "--replicaof", "127.0.0.1", primaryPort)
	// Sentinels start once the replica is attached: a Sentinel learns
	// the replicas from the primary's INFO, at once on connecting and
	// then only every 10 s.
	replica := h.client(h.replicaAddr)
	h.waitFor("the replica's link to the primary", func(ctx context.Context) string {
		info, err := replica.Info(ctx, "replication").Result()
		if err != nil || !strings.Contains(info, "master_link_status:up") {
			return fmt.Sprintf("replica link not up (%v)", err)
		}
		return ""
	})
	for i := range 3 {
		addr := testenv.FreeAddr(t)
		_, port, _ := net.SplitHostPort(addr)
		// Each Sentinel rewrites its own file (its id, the peers it met).
		conf := filepath.Join(h.dir, fmt.Sprintf("sentinel%d.conf", i))
		m := sentinelMaster
		lines := []string{"port " + port, "bind 127.0.0.1", "dir " + h.dir, fmt.Sprintf(`logfile "%s"`, filepath.Join(h.dir, fmt.Sprintf("sentinel%d.log", i))),
			fmt.Sprintf("sentinel monitor %s 127.0.0.1 %s 2", m, primaryPort),
			fmt.Sprintf("sentinel down-after-milliseconds %s %d", m, sentinelDownAfter.Milliseconds()),
			fmt.Sprintf("sentinel failover-timeout %s %d", m, sentinelFailoverTimeout.Milliseconds()),
			fmt.Sprintf("sentinel parallel-syncs %s 1", m)}
		if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		h.start("redis-sentinel", conf)
		h.sentinelAddrs = append(h.sentinelAddrs, addr)
	}
	h.waitReady()
	return h
}

// start runs one daemon until the test ends.
func (h *redisHA) start(bin string, args ...string) *exec.Cmd {
	h.t.Helper()
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("start %s: %v", bin, err)
	}
	h.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

// client talks to one server or Sentinel directly (not through the
// failover client under test).
func (h *redisHA) client(addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	h.t.Cleanup(func() { c.Close() })
	return c
}

// waitReady waits until every Sentinel knows the replica and both other
// Sentinels: before that a failover could not be agreed on, and killing
// the primary would test nothing.
func (h *redisHA) waitReady() {
	h.t.Helper()
	h.waitFor("the Sentinels", func(ctx context.Context) string {
		for _, addr := range h.sentinelAddrs {
			s := redis.NewSentinelClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second})
			m, err := s.Master(ctx, sentinelMaster).Result()
			s.Close()
			if err != nil || m["num-slaves"] != "1" || m["num-other-sentinels"] != "2" {
				return fmt.Sprintf("sentinel %s: replicas %q, other sentinels %q, %v", addr, m["num-slaves"], m["num-other-sentinels"], err)
			}
		}
		return ""
	})
}

// waitFor polls check (which says what is missing, or "") for 20 s.
func (h *redisHA) waitFor(what string, check func(ctx context.Context) string) {
	h.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		missing := check(ctx)
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("waiting for %s: %s after 20 s%s", what, missing, h.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// masterAddr is where the Sentinels currently say the primary is.
func (h *redisHA) masterAddr(ctx context.Context) string {
	s := redis.NewSentinelClient(&redis.Options{Addr: h.sentinelAddrs[0], DialTimeout: time.Second, ReadTimeout: time.Second})
	defer s.Close()
	a, err := s.GetMasterAddrByName(ctx, sentinelMaster).Result()
	if err != nil {
		return "?" + err.Error()
	}
	return net.JoinHostPort(a[0], a[1])
}

// url is REDIS_URL in the Sentinel form for this setup.
func (h *redisHA) url() string {
	return "redis+sentinel://" + strings.Join(h.sentinelAddrs, ",") + "/" + sentinelMaster
}

// logs is the tail of every daemon's log, for a failure message.
func (h *redisHA) logs() string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(h.dir, "*.log"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		fmt.Fprintf(&b, "\n--- %s\n%s", filepath.Base(f), strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
	return b.String()
}

// TestRedisSentinelFailover: a gateway on REDIS_URL=redis+sentinel://…
// keeps sessions through a failover. Twenty callers are midway (on the
// Find screen) when the primary is killed with SIGKILL. While the
// Sentinels agree and promote the replica, every hop gets the clean busy
// END, quickly; once the replica is promoted hops work again without a
// restart, and each of the twenty sessions the replica had continues
// from where it was.
func TestRedisSentinelFailover(t *testing.T) {
	ha := startRedisHA(t)
	ctx := context.Background()
	const prefix = "hudumatest:failover:" // the servers are this test's own
	p := newPayEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "REDIS_URL": ha.url(), "HUDUMA_REDIS_PREFIX": prefix,
		"HUDUMA_HOP_RATE": "0"})
	hop := func(session, phone, text string) (string, time.Duration) {
		t.Helper()
		start := time.Now()
		_, body := p.postForm("/ussd/africastalking?token="+testToken, url.Values{"sessionId": {session}, "serviceCode": {"*2222#"},
			"phoneNumber": {phone}, "networkCode": {"63902"}, "text": {text}})
		return body, time.Since(start)
	}
	// record reads a session straight from one server, wherever the
	// store keeps it: its version and how many hops it has seen.
	stores := map[string]*redisstore.Store{} // by server address
	record := func(c *redis.Client, session, phone string) (version string, hops int) {
		t.Helper()
		addr := c.Options().Addr
		st := stores[addr]
		if st == nil {
			var err error
			if st, err = redisstore.Open(ctx, "redis://"+addr+"/0", prefix); err != nil {
				t.Fatalf("open a store on %s: %v", addr, err)
			}
			stores[addr] = st
			t.Cleanup(func() { st.Close() })
		}
		ld, err := st.Load(ctx, sessions.Key{Provider: "africastalking", Session: session, Phone: phone})
		if err != nil {
			t.Fatalf("read session: %v", err)
		}
		if ld.Record.Version == 0 {
			return "", 0
		}
		rec, err := ussd.Inspect(ld.Record.Value)
		if err != nil {
			t.Fatalf("decode session: %v", err)
		}
		return strconv.FormatInt(ld.Record.Version, 10), rec.Hops
	}
	type caller struct{ session, phone string }
	callers := make([]caller, 20)
	for i := range callers {
		c := caller{fmt.Sprintf("ATUid_failover_%d_%d", i, time.Now().UnixNano()), randomPhone(t)}
		if body, _ := hop(c.session, c.phone, ""); !strings.Contains(body, "1. Find a service") {
			t.Fatalf("main menu: %q", body)
		}
		if body, _ := hop(c.session, c.phone, "1"); !strings.HasPrefix(body, "CON ") || !strings.Contains(body, "1. Search by name") {
			t.Fatalf("find screen: %q", body)
		}
		callers[i] = c
	}
	// The replica must have every session before the primary goes: a
	// write the primary took but never shipped is lost by any
	// asynchronous replication, and is not what this test is about.
	replica := ha.client(ha.replicaAddr)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		synced := 0
		for _, c := range callers {
			if v, _ := record(replica, c.session, c.phone); v == "2" {
				synced++
			}
		}
		if synced == len(callers) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica has %d of %d sessions after 5 s", synced, len(callers))
		}
	}
	if got := ha.masterAddr(ctx); got != ha.primaryAddr {
		t.Fatalf("before the kill the Sentinels name %s as primary, want %s", got, ha.primaryAddr)
	}

	// Note when each Sentinel announces the promotion: the gateway's
	// client asks one of them, which may learn it from the others.
	var switchMu sync.Mutex
	var switched []time.Time
	for _, addr := range ha.sentinelAddrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr})
		sub := sc.Subscribe(ctx, "+switch-master")
		t.Cleanup(func() { sub.Close(); sc.Close() })
		if _, err := sub.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		go func() {
			for range sub.Channel() {
				switchMu.Lock()
				switched = append(switched, time.Now())
				switchMu.Unlock()
			}
		}()
	}

	killed := time.Now()
	if err := ha.primary.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	ha.primary.Wait()

	// Keep dialling (a new caller every 50 ms) until a hop works again.
	var busy int
	var slowest, back time.Duration
	var probe caller
	for n := 0; ; n++ {
		probe = caller{fmt.Sprintf("ATUid_failover_probe_%d_%d", n, time.Now().UnixNano()), randomPhone(t)}
		body, took := hop(probe.session, probe.phone, "")
		if strings.HasPrefix(body, "CON ") && strings.Contains(body, "1. Find a service") {
			back = time.Since(killed)
			break
		}
		if !strings.HasPrefix(body, "END ") || !strings.Contains(body, "the service is busy") {
			t.Fatalf("hop %d during the failover: %q, want the clean busy END", n, body)
		}
		busy++
		slowest = max(slowest, took)
		if took > time.Second {
			t.Fatalf("hop %d during the failover: the busy END took %s, want under 1s", n, took)
		}
		if time.Since(killed) > 3*sentinelFailoverTimeout {
			t.Fatalf("no hop worked %s after the kill (Sentinels name %s as primary)%s", time.Since(killed), ha.masterAddr(ctx), ha.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if busy == 0 {
		t.Fatal("no busy END after the kill: the outage was never seen")
	}
	// The working hop went to the promoted replica.
	if got := ha.masterAddr(ctx); got != ha.replicaAddr {
		t.Fatalf("after the failover the Sentinels name %s as primary, want the replica %s", got, ha.replicaAddr)
	}
	if v, _ := record(replica, probe.session, probe.phone); v != "1" {
		t.Fatalf("the first working hop's session is not on the promoted replica (version %q)", v)
	}
	if limit := sentinelDownAfter + sentinelFailoverTimeout; back > limit {
		t.Fatalf("hops came back %s after the kill, beyond the failover time (down-after plus failover-timeout, %s)", back, limit)
	}
	// By now every Sentinel has announced the new primary; the client
	// must follow soon after the last announcement. After PoolSize failed
	// dials go-redis stops dialling and probes once a second, so "soon"
	// is up to a second plus a probe.
	var first, last time.Duration
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		switchMu.Lock()
		n := len(switched)
		if n > 0 {
			first, last = switched[0].Sub(killed), switched[n-1].Sub(killed)
		}
		switchMu.Unlock()
		if n == len(ha.sentinelAddrs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d Sentinels announced the new primary", n, len(ha.sentinelAddrs))
		}
	}
	if lag := back - last; lag > 1500*time.Millisecond {
		t.Fatalf("hops came back %s after the last Sentinel announced the new primary", lag)
	}

	// Every caller who was midway carries on from the Find screen.
	kept := 0
	for _, c := range callers {
		body, _ := hop(c.session, c.phone, "1*1")
		if !strings.HasPrefix(body, "CON ") || !strings.Contains(body, "Enter a service name") {
			t.Errorf("session %s after the failover: %q", c.session, body)
			continue
		}
		// Version 3 and three hops: the stored session went on. A lost
		// one would have been rebuilt from AT's text as a new record
		// (version 1, one hop) with the same screen, so the screen alone
		// proves nothing.
		if v, hops := record(replica, c.session, c.phone); v == "3" && hops == 3 {
			kept++
		} else {
			t.Errorf("session %s after the failover: version %q with %d hops, want 3 and 3 (the session was lost)", c.session, v, hops)
		}
	}
	testenv.Figure(t, "FAILOVER: primary killed, Sentinels announced the promoted replica after %.1f-%.1f s, hops back after %.1f s "+
		"(down-after %s, failover-timeout %s); %d busy ENDs meanwhile (slowest %d ms); %d/%d sessions kept",
		first.Seconds(), last.Seconds(), back.Seconds(), sentinelDownAfter, sentinelFailoverTimeout, busy, slowest.Milliseconds(), kept, len(callers))
}

// readOnlyPostgres is a proxy to the real Postgres at target whose
// sessions are all read-only, as a hot standby's (or a demoted old
// primary's) are: it adds options=-c default_transaction_read_only=on to
// each client's startup message. It returns its address and a count of
// the connections it carried.
func readOnlyPostgres(t *testing.T, target string) (string, *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			go proxyReadOnly(c, target)
		}
	}()
	return l.Addr().String(), &n
}

func proxyReadOnly(c net.Conn, target string) {
	defer c.Close()
	var msg []byte
	for {
		var head [4]byte
		if _, err := io.ReadFull(c, head[:]); err != nil {
			return
		}
		size := endian.BigEndian.Uint32(head[:])
		if size < 8 || size > 10000 {
			return
		}
		msg = make([]byte, size-4)
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		// An SSL or GSS encryption request: say no, the startup follows.
		if code := endian.BigEndian.Uint32(msg[:4]); code == 80877103 || code == 80877104 {
			c.Write([]byte{'N'})
			continue
		}
		break
	}
	// The startup message is the protocol version, then name\0value\0
	// pairs and a final \0: add one pair before that.
	msg = append(msg[:len(msg)-1], "options\x00-c default_transaction_read_only=on\x00\x00"...)
	out := endian.BigEndian.AppendUint32(nil, uint32(len(msg)+4))
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer s.Close()
	if _, err := s.Write(append(out, msg...)); err != nil {
		return
	}
	go io.Copy(s, c)
	io.Copy(c, s)
}

// TestPostgresMultiHost: DATABASE_URL may list several hosts, and with
// target_session_attrs=read-write pgx connects to the first that takes
// writes. Here the first host is down (a closed port) and the second a
// read-only server; the gateway starts on the third, the real primary,
// and takes an order and its payment there.
func TestPostgresMultiHost(t *testing.T) {
	base, err := url.Parse(freshSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	primary := base.Host
	if base.Port() == "" {
		primary = net.JoinHostPort(base.Hostname(), "5432")
	}
	standby, carried := readOnlyPostgres(t, primary)
	withHosts := func(hosts ...string) string {
		u := *base
		u.Host = strings.Join(hosts, ",")
		q := u.Query()
		q.Set("target_session_attrs", "read-write")
		u.RawQuery = q.Encode()
		return u.String()
	}
	ctx := context.Background()
	// The proxy's sessions really are read-only: alone, it is refused.
	if s, err := pgstore.Open(ctx, withHosts(standby)); err == nil {
		s.Close()
		t.Fatal("the read-only host alone was accepted with target_session_attrs=read-write")
	} else if !strings.Contains(err.Error(), "read only") {
		t.Fatalf("the read-only host alone: %v, want a read-only refusal", err)
	}
	carried.Store(0)

	p := newPayEnv(t, map[string]string{"DATABASE_URL": withHosts(testenv.FreeAddr(t), standby, primary), "HUDUMA_OTP_SECRET": "multihost-test-otp-secret",
		"HUDUMA_DATA_DIR": t.TempDir()})
	phone := huduma.MSISDN(randomPhone(t))
	n, _ := p.order(string(phone))
	p.waitStatus(n, huduma.InvoicePaid, 10*time.Second)
	if got := p.receipts(phone); got != 1 {
		t.Fatalf("%d receipts, want 1", got)
	}
	if carried.Load() == 0 {
		t.Fatal("pgx never tried the read-only host: the test shows nothing")
	}
	// Every pooled connection is on the primary, and writable: hold a
	// few at once, so they cannot all be the same one.
	db := p.g.store.SQL()
	var held []*sql.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := 0; i < 4; i++ {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		var ro, addr string
		err = c.QueryRowContext(ctx, "SHOW transaction_read_only").Scan(&ro)
		if rerr := c.Raw(func(dc any) error {
			addr = dc.(*stdlib.Conn).Conn().PgConn().Conn().RemoteAddr().String()
			return nil
		}); rerr != nil {
			t.Fatal(rerr)
		}
		if err != nil || ro != "off" || addr != primary {
			t.Fatalf("a pooled connection to %s (read only: %q, %v), want the primary %s", addr, ro, err, primary)
		}
	}
}
