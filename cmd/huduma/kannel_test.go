package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/providers/kannel"
)

// kannelRig is a real Kannel: bearerbox with a fake SMSC, smsbox with a
// sendsms user and the sms-service docs/sms.md gives for texts to the
// short code, and fakesmsc as the SMSC's far end (Debian kannel and
// kannel-extras).
type kannelRig struct {
	t *testing.T
	// sendsms is smsbox's sendsms URL.
	sendsms string
	// smsc is what fakesmsc printed: the messages the SMSC got.
	smsc *syncBuffer
	// mo is fakesmsc's input: each line is a text a phone sends.
	mo io.Writer
	// smsboxLog is smsbox's log file (debug level: it shows retries).
	smsboxLog string
}

// kannelBoxes starts the rig; getURL is the sms-service's get-url.
func kannelBoxes(t *testing.T, getURL string) *kannelRig {
	t.Helper()
	bins := map[string]string{"bearerbox": "/usr/sbin/bearerbox", "smsbox": "/usr/sbin/smsbox", "fakesmsc": "/usr/lib/kannel/test/fakesmsc"}
	for name, path := range bins {
		if _, err := os.Stat(path); err != nil {
			testenv.Missing(t, name+" is not installed (apt install kannel kannel-extras)")
		}
	}
	port := func() string { _, p, _ := net.SplitHostPort(testenv.FreeAddr(t)); return p }
	admin, box, smsc, sendsms := port(), port(), port(), port()
	dir := t.TempDir()
	conf := filepath.Join(dir, "kannel.conf")
	// The smsbox retry and the sms-service are docs/sms.md's, with a
	// shorter delay; %I, %p, %b, %c and %C are Kannel's escapes.
	os.WriteFile(conf, []byte(fmt.Sprintf(`group = core
admin-port = %s
admin-password = kannel-admin-secret
smsbox-port = %s
box-allow-ip = 127.0.0.1
log-file = "%s/bearerbox.log"
log-level = 1
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = %s
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = %s
sendsms-port = %s
log-file = "%s/smsbox.log"
log-level = 0
http-request-retry = 30
http-queue-delay = 1

group = sendsms-user
username = huduma
password = huduma-kannel-secret
concatenation = true
max-messages = 4

group = sms-service
keyword-regex = .*
catch-all = true
max-messages = 0
get-url = "%s&id=%%I&from=%%p&text=%%b&coding=%%c&charset=%%C"
`, admin, box, dir, smsc, box, sendsms, dir, getURL)), 0o644)
	start := func(name string, out *syncBuffer, in *os.File, args ...string) {
		cmd := exec.Command(bins[name], args...)
		if out != nil {
			cmd.Stdout, cmd.Stderr = out, out
		}
		if in != nil {
			cmd.Stdin = in
		}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	waitPort := func(p string) {
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if c, err := net.Dial("tcp", "127.0.0.1:"+p); err == nil {
				c.Close()
				return
			}
		}
		logs, _ := os.ReadFile(filepath.Join(dir, "bearerbox.log"))
		t.Fatalf("kannel port %s never opened:\n%s", p, logs)
	}
	start("bearerbox", nil, nil, conf)
	waitPort(smsc)
	start("smsbox", nil, nil, conf)
	waitPort(sendsms)
	// Given no message, fakesmsc reads the texts to send from its input,
	// one a line.
	// An os.Pipe, not an io.Pipe: exec hands the file to the process, so
	// stopping it waits on no copying goroutine.
	mo, moIn, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { moIn.Close() })
	fake := &syncBuffer{}
	start("fakesmsc", fake, mo, "-H", "127.0.0.1", "-r", smsc, "-i", "0.1")
	mo.Close()
	time.Sleep(500 * time.Millisecond) // fakesmsc connects
	return &kannelRig{t: t, sendsms: "http://127.0.0.1:" + sendsms + "/cgi-bin/sendsms", smsc: fake, mo: moIn, smsboxLog: filepath.Join(dir, "smsbox.log")}
}

// text makes fakesmsc deliver a text from phone to the short code, as the
// SMSC would hand Kannel a mobile-originated message.
func (k *kannelRig) text(phone, text string) {
	k.t.Helper()
	// fakesmsc sends a line once it has read the next one: the empty line
	// after it (which it skips) lets it go now.
	if _, err := fmt.Fprintf(k.mo, "%s 22222 text %s\n\n", phone, text); err != nil {
		k.t.Fatalf("fakesmsc input: %v", err)
	}
}

// got returns the messages the SMSC got for phone, in order, one per SMS
// part, as the handset would show them.
func (k *kannelRig) got(phone string) []string {
	var out []string
	mine := false // whether the last part read is phone's
	sc := bufio.NewScanner(strings.NewReader(k.smsc.String()))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// fakesmsc prints "… Got message 3: <22222 +254708374120 text
		// Results for …>". A concatenated part is "udh <udh> data
		// <data>", URL-encoded; a plain text is printed as it is, so a
		// line of it after the first comes out as a "message" of its own
		// without the sender and receiver.
		line := sc.Text()
		i := strings.Index(line, "Got message ")
		if i < 0 {
			continue
		}
		body := line[i:]
		if j := strings.Index(body, ": <"); j >= 0 {
			body = strings.TrimSuffix(body[j+3:], ">")
		}
		f := strings.SplitN(body, " ", 4)
		if len(f) < 4 || f[0] != "22222" {
			if mine && len(out) > 0 {
				out[len(out)-1] += "\n" + body
			}
			continue
		}
		mine = strings.TrimPrefix(f[1], "+") == strings.TrimPrefix(phone, "+")
		if !mine {
			continue
		}
		data := f[3]
		if f[2] == "udh" {
			data = data[strings.LastIndexByte(data, ' ')+1:]
			if d, err := url.QueryUnescape(data); err == nil {
				data = d
			}
		}
		out = append(out, data)
	}
	return out
}

// waitFor waits until the SMSC has got a message to phone containing
// want, and returns all it has got for phone, joined.
func (k *kannelRig) waitFor(phone, want string, within time.Duration) string {
	k.t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(100 * time.Millisecond) {
		if all := strings.Join(k.got(phone), ""); strings.Contains(all, want) {
			return all
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("the SMSC never got %q for %s; fakesmsc said:\n%s", want, phone, k.smsc.String())
		}
	}
}

// TestKannel: with the gateway sending through a real Kannel, a paid
// invoice's receipt reaches the SMSC once, and Kannel's delivery report
// comes back onto the message.
func TestKannel(t *testing.T) {
	addr := testenv.FreeAddr(t)
	k := kannelBoxes(t, "http://"+addr+kannel.InboundPath+"?token="+testToken)
	smsc := k.smsc
	p := newPayEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": addr, "KANNEL_SENDSMS_URL": k.sendsms,
		"KANNEL_USERNAME": "huduma", "KANNEL_PASSWORD": "huduma-kannel-secret", "KANNEL_FROM": "22222"})
	const phone = "+254708374100"
	n, _ := p.order(phone)
	p.waitStatus(n, huduma.InvoicePaid, 10*time.Second)

	// fakesmsc prints each message the SMSC got.
	var receipt string
	for deadline := time.Now().Add(15 * time.Second); receipt == ""; time.Sleep(100 * time.Millisecond) {
		sc := bufio.NewScanner(strings.NewReader(smsc.String()))
		for sc.Scan() {
			if line := sc.Text(); strings.Contains(line, string(n)) && strings.Contains(line, "PAID") {
				receipt = line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receipt never reached the SMSC; fakesmsc said:\n%s", smsc.String())
		}
	}
	if !strings.Contains(receipt, "254708374100") {
		t.Fatalf("receipt line %q lacks the recipient", receipt)
	}
	// Kannel's fake SMSC reports delivery (code 1; 8, accepted by the
	// SMSC, may come first); the report lands on the message.
	var status huduma.MessageStatus
	var reason string
	// The deadline is generous: on a loaded machine Kannel's own timers
	// (its DLR is sent by bearerbox after fakesmsc's) stretch.
	var lastErr error
	for deadline := time.Now().Add(25 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		m := receiptRow(t, p, phone)
		st, why, _, err := p.g.store.MessageStatus(context.Background(), m.ID)
		if err != nil {
			lastErr = err // e.g. SQLite busy under load: ask again
		} else {
			status, reason = st, why
		}
		if status == huduma.MsgDelivered {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(k.smsboxLog)
			var calls []string
			for _, l := range strings.Split(string(log), "\n") {
				if strings.Contains(l, kannel.DeliveryPath) || strings.Contains(l, "Status line") {
					calls = append(calls, l)
				}
			}
			t.Fatalf("no delivery report from Kannel on the receipt: %s %q (last read error: %v); smsbox's report calls:\n%s",
				status, reason, lastErr, strings.Join(calls, "\n"))
		}
	}
	if !strings.HasPrefix(reason, "kannel 1: delivered to phone") {
		t.Fatalf("report reason %q", reason)
	}
	if c := strings.Count(smsc.String(), "PAID: eCitizen invoice "+string(n)); c != 1 {
		t.Fatalf("the receipt reached the SMSC %d times:\n%s", c, smsc.String())
	}
	// A late failure report (16: rejected by the SMSC), as Kannel would
	// send it, does not undo the final state.
	id := providerID(t, p, receiptRow(t, p, phone).ID)
	if code, body := p.getPath("/sms/kannel/delivery?token=" + testToken + "&" + url.Values{"id": {id}, "status": {"16"}, "answer": {"NACK/"}}.Encode()); code != 200 {
		t.Fatalf("report 16: %d %s", code, body)
	}
	if st, _, _, _ := p.g.store.MessageStatus(context.Background(), receiptRow(t, p, phone).ID); st != huduma.MsgDelivered {
		t.Fatalf("after a late report 16 the receipt is %s", st)
	}
	if code, _ := p.getPath("/sms/kannel/delivery?token=" + testToken + "&id=x&status=nope"); code != 400 {
		t.Fatalf("garbage report: %d", code)
	}
	// A report for an id not (yet) written down is asked for again.
	if code, _ := p.getPath("/sms/kannel/delivery?token=" + testToken + "&id=K000000000000000000000000&status=1"); code != 503 {
		t.Fatalf("a report for an unknown id: %d, want 503", code)
	}

	kannelTexts(t, p, k)
}

// kannelTexts: texts to the short code reach the gateway through
// Kannel's sms-service, and every answer reaches the SMSC once, through
// the outbox and sendsms, Kannel adding nothing of its own: FIND, INFO,
// INVOICE and PAY (whose prompt is paid and its receipt sent), then STOP
// while the gateway is down, answered once smsbox's retry finds it back.
func kannelTexts(t *testing.T, p *payEnv, k *kannelRig) {
	const phone = "+254708374120" // Safaricom; the simulator pays (ends 20)
	k.text("254708374120", "FIND birth")
	k.waitFor(phone, "Results for 'birth':", 20*time.Second)
	k.waitFor(phone, "4001 Birth certificate KES 50", 5*time.Second)
	k.text("254708374120", "INFO   4001")
	k.waitFor(phone, "Birth certificate (code 4001)", 20*time.Second)
	k.text("0708374120", "INVOICE 4001 12345")
	all := k.waitFor(phone, "Invoice ", 20*time.Second)
	m := regexp.MustCompile(`Invoice ([0-9]{10}): Birth certificate, KES 55\.`).FindStringSubmatch(all)
	if m == nil {
		t.Fatalf("no invoice in the replies:\n%s", all)
	}
	n := huduma.InvoiceNumber(m[1])
	k.text("+254708374120", "PAY")
	k.waitFor(phone, "Check your phone: an M-Pesa prompt for KES 55 (invoice "+string(n)+")", 20*time.Second)
	p.waitStatus(n, huduma.InvoicePaid, 20*time.Second)
	k.waitFor(phone, "PAID: eCitizen invoice "+string(n), 20*time.Second)

	// STOP while the gateway is down: smsbox cannot reach the get-url and
	// tries again (the same URL, so the same id) until it is back.
	p.stop()
	k.text("254708374120", "STOP")
	var stopURL string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		log, _ := os.ReadFile(k.smsboxLog)
		if m := regexp.MustCompile(`Retrying request <([^>]*text=STOP[^>]*)>`).FindSubmatch(log); m != nil {
			stopURL = string(m[1])
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("smsbox never retried the STOP it could not deliver")
		}
	}
	p.start()
	k.waitFor(phone, "You will no longer get eCitizen notices.", 30*time.Second)
	if out, err := p.g.store.OptedOut(context.Background(), phone); err != nil || !out {
		t.Fatalf("after STOP through Kannel: opted out %v (%v)", out, err)
	}

	// Kannel delivering the STOP once more (the URL it retried, its id
	// and all) changes nothing: the reply is queued before the 200, and
	// there is no second one.
	before, err := p.g.store.Messages(context.Background(), phone, 50)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(stopURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if after, err := p.g.store.Messages(context.Background(), phone, 50); err != nil || resp.StatusCode != 200 || len(after) != len(before) {
		t.Fatalf("STOP delivered again: %d, %d messages after %d (%v)", resp.StatusCode, len(after), len(before), err)
	}

	// Every message for the phone reached the SMSC once, in as many parts
	// as the outbox counted (what Kannel split it into), and nothing else
	// did: no empty reply, no "Could not fetch content" from smsbox.
	msgs, err := p.g.store.Messages(context.Background(), phone, 50)
	if err != nil {
		t.Fatal(err)
	}
	got := k.got(phone)
	joined := strings.Join(got, "")
	parts := 0
	for _, msg := range msgs {
		parts += msg.Parts
		if c := strings.Count(joined, msg.Body); c != 1 {
			t.Errorf("the %s %q reached the SMSC %d times", msg.Kind, msg.Body, c)
		}
	}
	if len(got) != parts || len(msgs) < 6 {
		t.Fatalf("the SMSC got %d parts for the phone, the outbox sent %d messages in %d parts:\n%s", len(got), len(msgs), parts, strings.Join(got, "\n--\n"))
	}
}

func receiptRow(t *testing.T, p *payEnv, phone huduma.MSISDN) huduma.Message {
	t.Helper()
	msgs, err := p.g.store.Messages(context.Background(), phone, 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Kind == huduma.MessageReceipt {
			return m
		}
	}
	t.Fatal("no receipt in the outbox")
	return huduma.Message{}
}

func providerID(t *testing.T, p *payEnv, id int64) string {
	t.Helper()
	pid, err := p.g.store.MessageProvider(context.Background(), id)
	if err != nil || pid == "" {
		t.Fatalf("provider id of message %d: %q %v", id, pid, err)
	}
	return pid
}
