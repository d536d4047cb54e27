package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/huduma-ke/huduma/internal/testenv"
)

// artifactDir is where tests leave files for people to look at
// (HUDUMA_ARTIFACTS, default ./artifacts at the repository root).
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HUDUMA_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromium finds Debian's Chromium (apt install chromium); without it the
// test skips loudly, or fails under CI.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Missing(t, "no Chromium found (apt install chromium, or set CHROMIUM)")
	return ""
}

// TestBrowserSimulator dials the embedded gateway from the web phone in a
// real headless Chromium: search, pay with the M-Pesa simulator, and see
// the receipt arrive in the page's SMS inbox. It leaves a screenshot in
// artifacts/simulator.png.
func TestBrowserSimulator(t *testing.T) {
	exe := chromium(t)
	addr := testenv.FreeAddr(t)
	p := &payEnv{t: t, base: "http://" + addr, env: map[string]string{
		"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": addr, "HUDUMA_PUBLIC_URL": "http://" + addr,
		"HUDUMA_CALLBACK_TOKEN": testToken, "MPESA_STK_DELAY": "300ms", "HUDUMA_SIMULATOR": "on",
	}}
	p.start()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-quic", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1000, 760))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTime()

	// waitText polls an element until its text matches re.
	waitText := func(sel, re string, within time.Duration) string {
		t.Helper()
		want := regexp.MustCompile(re)
		deadline := time.Now().Add(within)
		var got string
		for {
			var err error
			if got, err = chromedp.Run(ctx, chromedp.Text(sel)); err != nil {
				t.Fatalf("read %s: %v", sel, err)
			}
			if want.MatchString(got) {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s shows %q, want %s", sel, got, re)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// key presses the phone's keypad, as a mouse would.
	keys := func(s string) chromedp.Action[chromedp.Void] {
		var ts []chromedp.Action[chromedp.Void]
		for _, r := range s {
			ts = append(ts, chromedp.Click(`#keypad button[data-key="`+string(r)+`"]`))
		}
		return chromedp.Steps(ts...)
	}
	send := func(tasks ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, append(tasks, chromedp.Click("#call"))...); err != nil {
			t.Fatal(err)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(p.base+"/simulator"), chromedp.WaitVisible("#dial")); err != nil {
		t.Fatal(err)
	}
	waitText("#screen", `^Ready$`, 5*time.Second)
	if dial, err := chromedp.Run(ctx, chromedp.Value("#dial")); err != nil || dial != "*2222#" {
		t.Fatalf("dial box %q %v", dial, err)
	}
	send()
	waitText("#screen", `1\. Find a service`, 5*time.Second)
	send(keys("1"))
	waitText("#screen", `1\. Search by name`, 5*time.Second)
	send(keys("1"))
	waitText("#screen", `Enter a service name`, 5*time.Second)
	send(chromedp.SendKeys("#reply", "birth")) // letters from the keyboard
	waitText("#screen", `Results for 'birth'\n1\. Birth certificate`, 5*time.Second)
	send(keys("1"))
	waitText("#screen", `Fee: KES 50`, 5*time.Second)
	send(keys("1"))
	waitText("#screen", `Enter Birth entry number`, 5*time.Second)
	send(keys("12345"))
	waitText("#screen", `1\. Pay from this phone`, 5*time.Second)
	send(keys("1"))
	end := waitText("#screen", `^Invoice \d{10}\nTotal KES 55`, 5*time.Second)
	invoice := regexp.MustCompile(`\d{10}`).FindString(end)

	// The simulator pays (phone ends 00) and the receipt shows in the inbox.
	waitText("#inbox", `PAID: eCitizen invoice `+invoice+`, Birth certificate, KES 55\. M-Pesa ref SIM`, 30*time.Second)
	waitText("#inbox", `eCitizen invoice `+invoice+`: Birth certificate\. Pay by M-Pesa: .* > KES 55 > PIN`, time.Second)

	// Texting the service from the same page: the SMS channel answers in
	// the inbox.
	if err := chromedp.Do(ctx, chromedp.WaitVisible("#sms-text"), chromedp.SendKeys("#sms-text", "FIND passport"), chromedp.Click("#sms-send")); err != nil {
		t.Fatal(err)
	}
	waitText("#inbox", `Ordinary passport`, 10*time.Second)
	if v, err := chromedp.Run(ctx, chromedp.Value("#sms-text")); err != nil || v != "" {
		t.Fatalf("the SMS box after sending: %q %v", v, err)
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(artifactDir(t), "simulator.png")
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", out, len(png))
}
