package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/testenv"
)

// kannelBoxes runs a real Kannel: bearerbox with a fake SMSC, smsbox with
// a sendsms user, and fakesmsc as the SMSC's far end (Debian kannel and
// kannel-extras). It returns the sendsms URL and fakesmsc's output.
func kannelBoxes(t *testing.T) (string, *syncBuffer) {
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
log-level = 1

group = sendsms-user
username = huduma
password = huduma-kannel-secret
concatenation = true
max-messages = 4

group = sms-service
keyword = default
text = "No service"
catch-all = true
`, admin, box, dir, smsc, box, sendsms, dir)), 0o644)
	start := func(name string, out *syncBuffer, args ...string) {
		cmd := exec.Command(bins[name], args...)
		if out != nil {
			cmd.Stdout, cmd.Stderr = out, out
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
	start("bearerbox", nil, conf)
	waitPort(smsc)
	start("smsbox", nil, conf)
	waitPort(sendsms)
	fake := &syncBuffer{}
	start("fakesmsc", fake, "-H", "127.0.0.1", "-r", smsc, "-i", "3600", "-m", "0", "100 200 text nothing")
	time.Sleep(500 * time.Millisecond) // fakesmsc connects
	return "http://127.0.0.1:" + sendsms + "/cgi-bin/sendsms", fake
}

// TestKannel: with the gateway sending through a real Kannel, a paid
// invoice's receipt reaches the SMSC once, and Kannel's delivery report
// comes back onto the message.
func TestKannel(t *testing.T) {
	sendsms, smsc := kannelBoxes(t)
	p := newPayEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "KANNEL_SENDSMS_URL": sendsms,
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
			t.Fatalf("no delivery report from Kannel on the receipt: %s %q (last read error: %v)", status, reason, lastErr)
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
