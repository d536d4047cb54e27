package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/web"
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

// TestBrowserSimulator drives the web phone in a real headless Chromium
// against the embedded gateway and its payment simulator, by mouse as a
// person would: the network picker (a number of each network, the
// inbox following it), an invalid number's error, a search typed by
// multi-tap on the keypad, M-Pesa prompts on the phone accepted with the
// PIN, cancelled, refused for a wrong PIN and left to time out (the
// outcome follows the answer, not the number's last two digits), a
// paybill part payment, an unknown account refused by validation and,
// without it, held in suspense in the read-only list, a text the
// gateway refuses shown as an error, texting the service (line breaks
// kept), ending a session and clearing the inbox, and the log panel with
// each request, reply and time. It leaves a screenshot in
// artifacts/simulator.png (and at HUDUMA_SIMULATOR_PNG, which
// `make simulator` points at docs/simulator.png).
func TestBrowserSimulator(t *testing.T) {
	exe := chromium(t)
	addr := testenv.FreeAddr(t)
	p := &payEnv{t: t, base: "http://" + addr, env: map[string]string{
		"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": addr, "HUDUMA_PUBLIC_URL": "http://" + addr,
		"HUDUMA_CALLBACK_TOKEN": testToken, "MPESA_STK_DELAY": "300ms", "HUDUMA_SIMULATOR": "on", "HUDUMA_RESUME_WINDOW": "0",
		"HUDUMA_HOP_RATE": "0"},
		// Long enough to answer on a busy machine, short enough to wait out.
		tune: func(c *Config) { c.promptTimeout = 12 * time.Second }}
	p.start()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-quic", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1440, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTime := context.WithTimeout(ctx, 4*time.Minute)
	defer cancelTime()

	do := func(tasks ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, tasks...); err != nil {
			t.Fatal(err)
		}
	}
	// eval runs a script and returns its result.
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
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
	// fill sets a field's value as typing or pasting would, with its
	// input and change events.
	fill := func(sel, v string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`(() => { const e = document.querySelector(` + strconv.Quote(sel) + `); e.value = ` + strconv.Quote(v) + `;
			e.dispatchEvent(new Event('input', { bubbles: true })); e.dispatchEvent(new Event('change', { bubbles: true })); })()`)
	}
	value := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Value(sel))
		if err != nil {
			t.Fatalf("value of %s: %v", sel, err)
		}
		return v
	}
	// keys presses the phone's keypad, as a mouse would.
	keys := func(s string) chromedp.Action[chromedp.Void] {
		var ts []chromedp.Action[chromedp.Void]
		for _, r := range s {
			ts = append(ts, chromedp.Click(`#keypad button[data-key="`+string(r)+`"]`))
		}
		return chromedp.Steps(ts...)
	}
	send := func(tasks ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		do(append(tasks, chromedp.Click("#call"))...)
	}
	// pick chooses a network in the picker as a mouse does: the option
	// selected, then the select's change event.
	pick := func(name string) {
		t.Helper()
		got := eval(`(() => { const s = document.getElementById('network');
			const o = [...s.options].find((o) => o.textContent === ` + strconv.Quote(name) + `);
			if (!o) return 'none';
			s.value = o.value; s.dispatchEvent(new Event('change', { bubbles: true }));
			return s.selectedOptions[0].textContent; })()`)
		if got != name {
			t.Fatalf("picked %q, want %s", got, name)
		}
	}
	// order buys a birth certificate (service 4001) from the keypad and
	// returns the invoice number on the END.
	order := func() huduma.InvoiceNumber {
		t.Helper()
		send()
		waitText("#screen", `1\. Find a service`, 5*time.Second)
		for _, step := range []struct{ keys, want string }{{"1", `3\. Enter service code`}, {"3", `Enter the service code`},
			{"4001", `Fee: KES 50`}, {"1", `Enter Birth entry number`}, {"12345", `1\. Pay from this phone`}} {
			send(keys(step.keys))
			waitText("#screen", step.want, 5*time.Second)
		}
		send(keys("1"))
		end := waitText("#screen", `^Invoice \d{10}\nTotal KES 55`, 5*time.Second)
		return huduma.InvoiceNumber(regexp.MustCompile(`\d{10}`).FindString(end))
	}
	// promptGone waits until the prompt's outcome has left the screen.
	promptGone := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for eval(`document.getElementById('prompt').hidden ? "gone" : "shown"`) != "gone" {
			if time.Now().After(deadline) {
				t.Fatal("the prompt's outcome is still on the screen after 10s")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// promptFor waits for the M-Pesa prompt of invoice n on the phone.
	promptFor := func(n huduma.InvoiceNumber) {
		t.Helper()
		waitText("#prompt", `Pay KES 55 to 174379 for account `+string(n)+`\?`, 10*time.Second)
	}

	do(chromedp.Navigate(p.base+"/simulator"), chromedp.WaitVisible("#dial"))
	waitText("#screen", `^Ready$`, 5*time.Second)
	if dial, ph := value("#dial"), value("#phone"); dial != "*2222#" || ph != web.SimulatorPhone {
		t.Fatalf("dial box %q, phone %q", dial, ph)
	}

	// The network picker sets a number of that network; the inbox and the
	// status bar follow.
	for _, n := range []struct{ name, number string }{{"Airtel", "+254733000100"}, {"Equitel", "+254763000100"},
		{"Telkom", "+254771000100"}, {"Safaricom", web.SimulatorPhone}} {
		pick(n.name)
		if got := value("#phone"); got != n.number {
			t.Fatalf("%s picked: number %q", n.name, got)
		}
		waitText("#net", "^"+n.name+"$", time.Second)
		waitText("#inbox-phone", regexp.QuoteMeta(n.number), 3*time.Second)
	}
	// An invalid number is named as such, and the inbox does not pretend.
	do(fill("#phone", ""), chromedp.SendKeys("#phone", "07123"))
	waitText("#phone-error", `Not a number the gateway takes: phone: `, 5*time.Second)
	waitText("#inbox", `No inbox for an invalid number`, 2*time.Second)
	pick("Safaricom")
	if shown := eval(`document.getElementById('phone-error').hidden ? "hidden" : "shown"`); shown != "hidden" {
		waitText("#phone-error", `^$`, 3*time.Second)
	}

	// A search typed by multi-tap: 22 444 777 8 44 is "birth".
	send()
	waitText("#screen", `1\. Find a service`, 5*time.Second)
	send(keys("1"))
	waitText("#screen", `1\. Search by name`, 5*time.Second)
	send(keys("1"))
	waitText("#screen", `Enter a service name`, 5*time.Second)
	do(chromedp.Click("#mode"), keys("22444777844"))
	if got := value("#reply"); got != "birth" {
		t.Fatalf("multi-tap typed %q, want birth", got)
	}
	do(chromedp.Click("#mode"), chromedp.Click("#mode")) // abc, ABC, back to 123
	send()
	waitText("#screen", `Results for 'birth'\n1\. Birth certificate`, 5*time.Second)
	send(keys("1"))
	waitText("#screen", `Fee: KES 50`, 5*time.Second)
	send(keys("1"))
	waitText("#screen", `Enter Birth entry number`, 5*time.Second)
	send(keys("12345"))
	waitText("#screen", `1\. Pay from this phone`, 5*time.Second)
	send(keys("1"))
	end := waitText("#screen", `^Invoice \d{10}\nTotal KES 55`, 5*time.Second)
	paid := huduma.InvoiceNumber(regexp.MustCompile(`\d{10}`).FindString(end))

	// The prompt shows on the phone; the PIN from the keypad pays.
	promptFor(paid)
	do(keys("1234"), chromedp.Click("#call"))
	waitText("#prompt-status", `^Paid\.`, 10*time.Second)
	promptGone()
	waitText("#inbox", `PAID: eCitizen invoice `+string(paid)+`, Birth certificate, KES 55\. M-Pesa ref SIMULATED`, 30*time.Second)

	// Clearing the inbox hides what is there; new texts still come.
	do(chromedp.Click("#clear-inbox"))
	waitText("#inbox", `^No messages yet\.$`, 5*time.Second)

	// Cancelled on the phone, whatever the number's 00 would have done.
	cancelled := order()
	promptFor(cancelled)
	do(chromedp.Click("#cancel"))
	waitText("#prompt-status", `^Cancelled\.`, 10*time.Second)
	do(chromedp.Click("#call")) // puts the outcome away
	promptGone()
	if inv := p.waitStatus(cancelled, huduma.InvoiceCancelled, 10*time.Second); inv.Reason != "1032" {
		t.Fatalf("cancelled on the phone: %+v", inv)
	}
	// A wrong PIN fails it.
	wrong := order()
	promptFor(wrong)
	do(keys("9999"), chromedp.Click("#prompt-ok"))
	waitText("#prompt-status", `^Wrong PIN`, 10*time.Second)
	promptGone()
	if inv := p.waitStatus(wrong, huduma.InvoiceFailed, 10*time.Second); inv.Reason != "2001" {
		t.Fatalf("a wrong PIN: %+v", inv)
	}
	// Left alone, it times out.
	ignored := order()
	promptFor(ignored)
	waitText("#prompt-status", `timed out`, 30*time.Second)
	promptGone()
	if inv := p.waitStatus(ignored, huduma.InvoiceFailed, 10*time.Second); inv.Reason != "1037" {
		t.Fatalf("a prompt left alone: %+v", inv)
	}

	// Pay by paybill: KES 20 of the 55 the ignored invoice asks.
	do(chromedp.SendKeys("#paybill-account", string(ignored)), chromedp.SendKeys("#paybill-amount", "20"), chromedp.Click("#paybill-send"))
	waitText("#paybill-result", `^M-Pesa ref SIMULATED\d{7}: KES 20 paid to 174379, account `+string(ignored), 10*time.Second)
	waitText("#inbox", `KES 20 of 55 received\. Pay by M-Pesa: .* > KES 35 > PIN`, 10*time.Second)
	if inv := p.invoice(ignored); inv.Received != 20 || inv.Status == huduma.InvoicePaid {
		t.Fatalf("after a part payment: %+v", inv)
	}
	// An unknown account: refused by validation, then, without it, held.
	do(fill("#paybill-account", ""), chromedp.SendKeys("#paybill-account", "no-such-acct"), fill("#paybill-amount", ""),
		chromedp.SendKeys("#paybill-amount", "300"), chromedp.Click("#paybill-send"))
	waitText("#paybill-result", `^Refused by the gateway's validation \(C2B00012`, 10*time.Second)
	do(chromedp.Click("#paybill-validate"), chromedp.Click("#paybill-send"))
	waitText("#paybill-result", `^M-Pesa ref SIMULATED\d{7}: KES 300`, 10*time.Second)
	waitText("#suspense", `unknown_account\s+KES 300\s+no-such-acct`, 10*time.Second)
	waitText("#suspense-total", `KES 300 held in 1 payment`, 5*time.Second)

	// A text the gateway refuses: the error is shown, the text kept.
	do(fill("#sms-text", strings.Repeat("x", 1000)), chromedp.Click("#sms-send"))
	waitText("#error", `Text refused: text: at most 918 characters`, 5*time.Second)
	if v := value("#sms-text"); len(v) != 1000 {
		t.Fatalf("a refused text was cleared: %d characters left", len(v))
	}
	do(chromedp.Click("#error-close"), fill("#sms-text", ""), chromedp.SendKeys("#sms-text", "FIND passport"), chromedp.Click("#sms-send"))
	waitText("#inbox", `Ordinary passport`, 10*time.Second)
	if v := value("#sms-text"); v != "" {
		t.Fatalf("the SMS box after sending: %q", v)
	}
	// Line breaks in texts are kept.
	if got := eval(`[...document.querySelectorAll('#inbox .body')].some((b) => b.innerText.includes('\n') && b.textContent.includes('passport')) ? "kept" : "lost"`); got != "kept" {
		t.Fatal("the FIND reply's line breaks are lost in the inbox")
	}

	// The inbox follows the number: the Airtel number has none of these.
	pick("Airtel")
	waitText("#inbox", `^No messages yet\.$`, 5*time.Second)
	pick("Safaricom")
	waitText("#inbox", `Ordinary passport`, 5*time.Second)
	if got := waitText("#inbox", `.`, time.Second); strings.Contains(got, "PAID: eCitizen invoice "+string(paid)) {
		t.Fatal("a cleared text came back")
	}

	// Ending a session tells the gateway, as the aggregator would.
	send()
	waitText("#screen", `1\. Find a service`, 5*time.Second)
	do(chromedp.Click("#cancel"))
	waitText("#screen", `^Session ended$`, 5*time.Second)
	waitText("#log", `Session end[\s\S]*→ status=Incomplete[\s\S]*← 200 OK`, 5*time.Second)

	// The log panel: each request, its reply and its time.
	for _, re := range []string{`USSD \d{2}:\d{2}:\d{2}\.\d{3} · \d+ ms\s+→ text="1\*3\*4001" phoneNumber=\+254722000100 networkCode=63902`,
		`← 200 CON Birth certificate`, `Paybill \d{2}:\d{2}:\d{2}\.\d{3} · \d+ ms\s+→ KES 300 to 174379 account "no-such-acct"`, `M-Pesa answer`, `SMS in`, `← 400 \{"error"`} {
		waitText("#log", re, time.Second)
	}

	// One more prompt, left on the screen for the picture.
	last := order()
	promptFor(last)
	do(keys("12"))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	do(chromedp.Click("#prompt-cancel"))
	waitText("#prompt-status", `^Cancelled\.`, 10*time.Second)
	for _, out := range []string{filepath.Join(artifactDir(t), "simulator.png"), os.Getenv("HUDUMA_SIMULATOR_PNG")} {
		if out == "" {
			continue
		}
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", out, len(png))
	}
}
