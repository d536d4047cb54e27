package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/huduma-ke/huduma/internal/faultproxy"
	"github.com/huduma-ke/huduma/internal/testenv"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = "../.."

// versioned is an image tag that names an exact version (1.26.8,
// 7.4.1-bookworm), not a moving one (latest, 1.26, 7, stable). Postgres
// numbers its releases major.minor, so 16.6 is exact for it.
var (
	versioned         = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+`)
	postgresVersioned = regexp.MustCompile(`^[0-9]+\.[0-9]+`)
)

// checkPinned fails for an image reference that is not pinned: by
// digest, or by an exact version tag. distroless publishes no version
// tags; its Debian release in the name is the version until a digest
// is added.
func checkPinned(t *testing.T, where, ref string) {
	t.Helper()
	if strings.Contains(ref, "@sha256:") {
		return
	}
	name, tag, ok := strings.Cut(path.Base(ref), ":")
	switch {
	case !ok || tag == "latest":
		t.Errorf("%s: image %q has no version: pin it to an exact tag or a digest", where, ref)
	case strings.HasPrefix(ref, "gcr.io/distroless/") && regexp.MustCompile(`-debian[0-9]+$`).MatchString(name):
	case name == "postgres" && postgresVersioned.MatchString(tag):
	case !versioned.MatchString(tag):
		t.Errorf("%s: image %q has a moving tag %q: pin it to an exact version", where, ref, tag)
	}
}

// TestDockerfile: base images pinned, a non-root user, and a HEALTHCHECK
// that runs `huduma health` (the image has no shell and no curl).
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	var health, user, entry string
	digestNote := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			digestNote = digestNote || strings.Contains(line, "digest")
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			froms = append(froms, strings.Fields(rest)[0])
		case "HEALTHCHECK":
			health = rest
		case "USER":
			user = rest
		case "ENTRYPOINT":
			entry = rest
		}
	}
	if len(froms) < 2 {
		t.Fatalf("FROM lines %v, want a build stage and a runtime stage", froms)
	}
	for _, f := range froms {
		checkPinned(t, "Dockerfile", f)
		if !strings.Contains(f, "@sha256:") && !digestNote {
			t.Errorf("Dockerfile: %s has no digest and no comment says digests must be added", f)
		}
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("Dockerfile: USER %q, want a non-root user", user)
	}
	if entry != `["/huduma"]` {
		t.Errorf("ENTRYPOINT %s, want [\"/huduma\"]", entry)
	}
	if !strings.Contains(health, `CMD ["/huduma", "health"]`) {
		t.Errorf("HEALTHCHECK %q, want one that runs CMD [\"/huduma\", \"health\"]", health)
	}
}

// dockerignored reports whether a .dockerignore's patterns keep p (a
// slash-separated path from the context's root) out of the context, as
// Docker reads them: each pattern cleaned and matched from the root,
// "**" any number of directories, a directory taking its contents with
// it, and a later "!" pattern bringing a path back.
func dockerignored(patterns []string, p string) bool {
	out := false
	for _, pat := range patterns {
		keep := strings.HasPrefix(pat, "!")
		pat = path.Clean(strings.TrimPrefix(strings.TrimPrefix(pat, "!"), "/"))
		segs := strings.Split(p, "/")
		for n := 1; n <= len(segs); n++ {
			if globMatch(strings.Split(pat, "/"), segs[:n]) {
				out = !keep
				break
			}
		}
	}
	return out
}

func globMatch(pat, segs []string) bool {
	if len(pat) == 0 {
		return len(segs) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(segs); i++ {
			if globMatch(pat[1:], segs[i:]) {
				return true
			}
		}
		return false
	}
	if len(segs) == 0 {
		return false
	}
	ok, err := path.Match(pat[0], segs[0])
	return err == nil && ok && globMatch(pat[1:], segs[1:])
}

// TestDockerignore: the build context never carries a data folder or a
// database file (phone numbers, the OTP secret), built binaries, the
// git history or node modules, and carries every tracked file.
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	for _, p := range []string{"data/huduma.db", "data/huduma.db-wal", "data/otp_secret", "cmd/huduma/data/huduma.db", "huduma.db",
		"bin/huduma-bench", "huduma", ".git/HEAD", ".git/objects/ab/cdef", "node_modules/x/index.js", "bench/peer/node_modules/express/index.js",
		"providers/africastalking/testdata/nodesdk/node_modules/africastalking/index.js", "some/where/else.db", "cmd/huduma/huduma.test"} {
		if !dockerignored(patterns, p) {
			t.Errorf(".dockerignore lets %s into the build context", p)
		}
	}
	for _, p := range []string{"go.mod", "cmd/huduma/main.go", "catalog/sample.json", "web/simulator/index.html", "cmd/huduma/huduma.go"} {
		if dockerignored(patterns, p) {
			t.Errorf(".dockerignore keeps %s out, which the build needs", p)
		}
	}
	for _, f := range trackedFiles(t) {
		if dockerignored(patterns, f) {
			t.Errorf(".dockerignore keeps the tracked file %s out of the build", f)
		}
	}
}

// trackedFiles lists the repository's tracked files (skipping when this
// is not a git checkout, unless CI is set).
func trackedFiles(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", repoRoot, "ls-files", "-z").Output()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("git ls-files: %v", err)
		}
		t.Skipf("SKIP: not a git checkout (git ls-files: %v)", err)
	}
	var files []string
	for _, f := range strings.Split(string(out), "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	if len(files) < 50 {
		t.Fatalf("git ls-files listed %d files", len(files))
	}
	return files
}

// tooLarge returns the files over 1 MB that are neither an image nor a
// test fixture (under testdata/).
func tooLarge(sizes map[string]int64) []string {
	images := map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true, ".svg": true}
	var bad []string
	for f, size := range sizes {
		fixture := strings.HasPrefix(f, "testdata/") || strings.Contains(f, "/testdata/")
		if size > 1<<20 && !images[strings.ToLower(filepath.Ext(f))] && !fixture {
			bad = append(bad, fmt.Sprintf("%s (%.1f MB)", f, float64(size)/(1<<20)))
		}
	}
	sort.Strings(bad)
	return bad
}

// TestNoLargeFilesTracked: no file over 1 MB is tracked unless it is an
// image or a test fixture (under testdata/), and the root binary `go
// build` leaves (huduma) is ignored. The check is also run on the last
// commit that still tracked that binary, when the history has it, to
// show it would have caught it.
func TestNoLargeFilesTracked(t *testing.T) {
	sizes := map[string]int64{}
	for _, f := range trackedFiles(t) {
		if st, err := os.Stat(filepath.Join(repoRoot, f)); err == nil {
			sizes[f] = st.Size()
		}
	}
	for _, f := range tooLarge(sizes) {
		t.Errorf("%s is tracked: a build output or data, not source (ignore it, or keep fixtures under testdata/)", f)
	}
	if err := exec.Command("git", "-C", repoRoot, "check-ignore", "-q", "huduma").Run(); err != nil {
		t.Errorf("the root binary huduma is not ignored by .gitignore: %v", err)
	}
	removal, err := exec.Command("git", "-C", repoRoot, "rev-list", "-1", "HEAD", "--", "huduma").Output()
	if err != nil || len(bytes.TrimSpace(removal)) == 0 {
		t.Log("the history has no commit that tracked the root binary (a shallow clone?): the check is not replayed on it")
		return
	}
	tree, err := exec.Command("git", "-C", repoRoot, "ls-tree", "-r", "-l", strings.TrimSpace(string(removal))+"^").Output()
	if err != nil {
		t.Logf("the commit before %s is not here (a shallow clone?): %v", bytes.TrimSpace(removal), err)
		return
	}
	old := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(string(tree)), "\n") {
		// <mode> blob <hash> <size>\t<path>
		meta, name, ok := strings.Cut(line, "\t")
		var size int64
		if f := strings.Fields(meta); ok && len(f) == 4 {
			fmt.Sscan(f[3], &size)
			old[name] = size
		}
	}
	if bad := tooLarge(old); len(bad) == 0 || !strings.HasPrefix(bad[0], "huduma (") {
		t.Errorf("on the commit that still tracked the 36 MB binary the check finds %v, want huduma", bad)
	}
}

// TestCompose: compose publishes nothing but the gateway's port, and on
// the host's loopback while the web phone is on; images are pinned; and
// the gateway's environment is one the gateway accepts, saying by name
// that payments and SMS are simulated.
func TestCompose(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       string            `yaml:"build"`
			Ports       []string          `yaml:"ports"`
			Expose      []string          `yaml:"expose"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatal(err)
	}
	gw, ok := compose.Services["huduma"]
	if !ok || gw.Build == "" {
		t.Fatalf("no huduma service built from the repository: %+v", compose.Services)
	}
	for name, s := range compose.Services {
		if name != "huduma" {
			if len(s.Ports) > 0 {
				t.Errorf("service %s publishes %v: only the gateway's port may be", name, s.Ports)
			}
			checkPinned(t, "docker-compose.yml "+name, s.Image)
		}
	}
	cfg, err := loadConfig(func(k string) string { return gw.Environment[k] })
	if err != nil {
		t.Fatalf("the gateway refuses compose's environment: %v", err)
	}
	if strings.Join(cfg.Simulated(), ",") != "payments,sms" || gw.Environment["HUDUMA_PAYMENTS"] != "simulator" || gw.Environment["HUDUMA_SMS"] != "record-only" {
		t.Errorf("compose simulates %v; want payments and SMS simulated by name", cfg.Simulated())
	}
	_, port, _ := net.SplitHostPort(cfg.Addr)
	if len(gw.Ports) != 1 {
		t.Fatalf("the gateway publishes %v, want its one port", gw.Ports)
	}
	parts := strings.Split(gw.Ports[0], ":")
	if len(parts) != 3 || parts[2] != port {
		t.Fatalf("the gateway publishes %q, want HOST_IP:HOST_PORT:%s", gw.Ports[0], port)
	}
	if cfg.SimulatorOn() && parts[0] != "127.0.0.1" {
		t.Errorf("the web phone is on and published on %q: bind it to 127.0.0.1", parts[0])
	}
	if cfg.MetricsAddr != "" {
		if _, mport, _ := net.SplitHostPort(cfg.MetricsAddr); strings.Contains(gw.Ports[0], ":"+mport) {
			t.Errorf("the metrics port %s is published", mport)
		}
	}
}

// TestHealthCommand: `huduma health` against a real gateway: ready (0),
// not ready with the backend that is down (an error, exit 1 from the
// binary), unreachable (an error naming the address).
func TestHealthCommand(t *testing.T) {
	redisURL, err := url.Parse(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := faultproxy.Start(redisURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	addr := testenv.FreeAddr(t)
	s := runServe(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": addr, "REDIS_URL": "redis://" + proxy.Addr() + "/0",
		"HUDUMA_REDIS_PREFIX": redisPrefix(t), "HUDUMA_PAYMENTS": "simulator", "HUDUMA_SMS": "record-only"})
	health := func(env map[string]string, args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"health"}, args...), func(k string) string { return env[k] }, &out, &out)
		return out.String(), err
	}
	// Found through HUDUMA_ADDR, as the image's HEALTHCHECK finds it.
	if out, err := health(map[string]string{"HUDUMA_ADDR": addr}); err != nil || out != "ready (simulated: payments, sms)\n" {
		t.Fatalf("ready gateway: %q, %v", out, err)
	}
	proxy.Cut()
	if _, err := health(nil, "--url", s.base); err == nil || !strings.Contains(err.Error(), "not ready (503): sessions unavailable") {
		t.Fatalf("Redis cut: %v, want not ready naming the sessions", err)
	}
	// The binary exits 1 with the reason.
	cmd := exec.Command(binary(t), "health", "--url", s.base)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "sessions unavailable") {
		t.Fatalf("binary with Redis cut: %v %q, want exit 1 naming the sessions", err, out)
	}
	proxy.Restore()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := health(nil, "--url", s.base); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("not ready again 10 s after Redis came back: %v", err)
		}
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := health(map[string]string{"HUDUMA_ADDR": "0.0.0.0:" + strings.Split(addr, ":")[1]}, "--timeout", "2s"); err == nil ||
		!strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "127.0.0.1:") {
		t.Fatalf("stopped gateway: %v, want unreachable naming the loopback address", err)
	}
	if _, err := health(map[string]string{"HUDUMA_ADDR": "nonsense"}); err == nil || !strings.Contains(err.Error(), "HUDUMA_ADDR") {
		t.Fatalf("bad HUDUMA_ADDR: %v", err)
	}
}
