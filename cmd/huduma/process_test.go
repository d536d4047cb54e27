package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/huduma-ke/huduma/internal/testenv"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/huduma once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "huduma-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "huduma")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// process is a gateway running as its own OS process.
type process struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
	done chan error
}

func startProcess(t *testing.T, env map[string]string) *process {
	t.Helper()
	addr := env["HUDUMA_ADDR"]
	if addr == "" {
		addr = testenv.FreeAddr(t)
	}
	simulatedOnPurpose(env)
	cmd := exec.Command(binary(t), "serve")
	cmd.Env = []string{"HUDUMA_ADDR=" + addr, "PATH=" + os.Getenv("PATH"), "HUDUMA_LOG_LEVEL=debug"}
	if env["HUDUMA_PUBLIC_URL"] == "" {
		cmd.Env = append(cmd.Env, "HUDUMA_PUBLIC_URL=http://"+addr)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, addr: addr, logs: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		err := <-p.done
		p.done <- err
		// The process's logs join the privacy scan (see privacy_test.go).
		logSink.Write(p.logs.Bytes())
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("gateway on %s not ready; logs:\n%s", addr, p.logs)
	return nil
}

func (p *process) hop(t *testing.T, session, text string) string {
	t.Helper()
	resp, err := http.PostForm("http://"+p.addr+"/ussd/africastalking?token="+testToken, url.Values{"sessionId": {session},
		"serviceCode": {"*2222#"}, "phoneNumber": {"+254712000999"}, "networkCode": {"63902"}, "text": {text}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestTwoProcessesShareOneSession: two gateway processes on one Postgres
// and Redis serve alternating hops of one session as if they were one.
func TestTwoProcessesShareOneSession(t *testing.T) {
	env := map[string]string{"DATABASE_URL": freshSchema(t), "REDIS_URL": testenv.RedisURL(t), "HUDUMA_REDIS_PREFIX": redisPrefix(t), "HUDUMA_OTP_SECRET": "process-test-otp-secret",
		"HUDUMA_CALLBACK_TOKEN": testToken}
	a, b := startProcess(t, env), startProcess(t, env)
	session := fmt.Sprintf("ATUid_twoproc_%d", time.Now().UnixNano())
	steps := []struct {
		gw   *process
		text string
		want string
	}{
		{a, "", "1. Find a service"},
		{b, "1", "1. Search by name"},
		{a, "1*1", "Enter a service name"},
		{b, "1*1*birth", "Birth certificate"},
		{b, "1*1*birth", "Birth certificate"}, // retried on the other process: same screen
		{a, "1*1*birth*0", "Enter a service name"},
		{b, "1*1*birth*0*00", "1. Find a service"},
	}
	for i, s := range steps {
		got := s.gw.hop(t, session, s.text)
		if !strings.HasPrefix(got, "CON ") || !strings.Contains(got, s.want) {
			t.Fatalf("step %d (%q on %s): %q, want %q", i, s.text, s.gw.addr, got, s.want)
		}
	}
	// SIGTERM: the process stops accepting and exits cleanly.
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-a.done:
		a.done <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, a.logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("gateway did not stop within 15 s of SIGTERM")
	}
	if !strings.Contains(a.logs.String(), "shutting down") {
		t.Fatalf("no shutdown log (%d bytes):\n%s", a.logs.Len(), a.logs)
	}
	// No phone number ever reaches the logs.
	for _, p := range []*process{a, b} {
		if strings.Contains(p.logs.String(), "712000999") {
			t.Fatalf("a phone number leaked into the logs:\n%s", p.logs)
		}
	}
}

func TestCommands(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{"HUDUMA_DATA_DIR": t.TempDir()}
	getenv := func(k string) string { return env[k] }
	runOut := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(ctx, args, getenv, &out, &errb)
		return out.String(), err
	}
	if out, err := runOut("version"); err != nil || !strings.HasPrefix(out, "huduma ") {
		t.Fatalf("version: %q %v", out, err)
	}
	if _, err := runOut("migrate"); err != nil {
		t.Fatal(err)
	}
	csvFile := filepath.Join(t.TempDir(), "c.csv")
	os.WriteFile(csvFile, []byte(header+"77,Test service,Huduma ya majaribio,TST,Test agency,tst,Tests,Majaribio,120,true,\n"), 0o600)
	if _, err := runOut("catalog", "import", csvFile); err != nil {
		t.Fatal(err)
	}
	out, err := runOut("catalog", "export", "--format", "csv")
	if err != nil || !strings.Contains(out, "77,Test service,Huduma ya majaribio,TST,Test agency,tst,Tests,Majaribio,120,true,") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte(header+"x,Bad,,TST,T,tst,T,T,1,true,\n"), 0o600)
	if _, err := runOut("catalog", "import", bad); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad import: %v", err)
	}
	if out, err := runOut("menus", "--format", "mermaid"); err != nil || !strings.Contains(out, "stateDiagram-v2") {
		t.Fatalf("menus: %v %q", err, out)
	}
	if _, err := runOut("frobnicate"); err == nil {
		t.Fatal("unknown command accepted")
	}
	env["HUDUMA_SESSION_TTL"] = "never"
	if _, err := runOut("serve"); err == nil || !strings.Contains(err.Error(), "HUDUMA_SESSION_TTL") {
		t.Fatalf("bad config: %v", err)
	}
}

const header = "code,name_en,name_sw,agency_code,agency_name,category_code,category_name_en,category_name_sw,fee,active,inputs\n"

// TestDiagramIsCurrent fails when docs/menus.md's diagram no longer
// matches the state machine the gateway runs.
func TestDiagramIsCurrent(t *testing.T) {
	var out bytes.Buffer
	if err := printMenus(nil, &out); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"../../docs/menus.md"} {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), "```mermaid\n"+out.String()+"```") {
			t.Errorf("%s has a stale menu diagram: run `make menus`", f)
		}
	}
}
