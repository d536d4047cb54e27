package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/internal/testenv"
	"github.com/huduma-ke/huduma/otp"
	"github.com/huduma-ke/huduma/store/sqlstore"
)

// Agency keys of the OTP tests.
const (
	disKey = "DIS:immigration-key-0123456789"
	crsKey = "CRS:registrar-key-0123456789"
)

// TestOTPsAreTheirAgencys: one agency's wrong guesses, sends and codes
// never lock, retire, spend or use up the codes and sends of another,
// through the API as agencies call it.
func TestOTPsAreTheirAgencys(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			env := backend(t)
			env["HUDUMA_API_KEYS"] = disKey + "," + crsKey + "," + testAPIKey
			e := newSMSEnv(t, env)
			dis, crs := strings.TrimPrefix(disKey, "DIS:"), strings.TrimPrefix(crsKey, "CRS:")
			const phone = "+254708374160"
			send := func(key string) string {
				t.Helper()
				before := len(e.sentTo(phone, otpRE))
				if code, body := e.api("POST", "/otp", key, `{"phone":"`+phone+`","purpose":"login"}`); code != 202 {
					t.Fatalf("send: %d %v", code, body)
				}
				for deadline := time.Now().Add(5 * time.Second); len(e.sentTo(phone, otpRE)) == before; time.Sleep(25 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("the code never reached AT")
					}
				}
				all := e.sentTo(phone, otpRE)
				return otpRE.FindStringSubmatch(all[len(all)-1].Message)[1]
			}
			verify := func(key, code string) bool {
				t.Helper()
				status, body := e.api("POST", "/otp/verify", key, `{"phone":"`+phone+`","purpose":"login","code":"`+code+`"}`)
				if status != 200 {
					t.Fatalf("verify: %d %v", status, body)
				}
				return body["valid"] == true
			}
			wrong := func(code string) string { return string("0123456789"[(code[0]-'0'+1)%10]) + code[1:] }

			// Another agency's five wrong guesses do not lock DIS's code,
			// and its right code is not CRS's to spend.
			code := send(dis)
			for i := 0; i < sqlstore.OTPMaxAttempts; i++ {
				if verify(crs, wrong(code)) {
					t.Fatal("a wrong guess passed")
				}
			}
			if verify(crs, code) || verify(testAPIKey, code) {
				t.Fatal("DIS's code verified in another's name")
			}
			if !verify(dis, code) {
				t.Fatal("DIS's code failed after other agencies' guesses")
			}
			// Another agency's send does not retire DIS's live code.
			code = send(dis)
			theirs := send(crs)
			if !verify(dis, code) {
				t.Fatal("DIS's code failed after CRS sent one")
			}
			if !verify(crs, theirs) {
				t.Fatal("CRS's own code failed")
			}
			// CRS's sends are counted against CRS: DIS still has its third.
			send(crs)
			send(crs)
			if status, _ := e.api("POST", "/otp", crs, `{"phone":"`+phone+`","purpose":"login"}`); status != 429 {
				t.Fatalf("CRS's fourth code in 10 minutes: %d, want 429", status)
			}
			send(dis)
		})
	}
}

// TestOTPTextNeverStoredReadable: a code's SMS is never readable in the
// outbox, neither while it waits nor after it left (then it is
// huduma.OTPRemoved), and the pure demo's inbox still shows it.
func TestOTPTextNeverStoredReadable(t *testing.T) {
	t.Run("sent through a provider", func(t *testing.T) {
		env := payBackends()["postgres+redis"](t)
		env["HUDUMA_SMS_RETRY"] = "10s"
		e := newSMSEnv(t, env)
		const phone = "+254708374161"
		e.at.FailNext(1, 503) // the first try fails: the text waits for a retry
		if code, body := e.api("POST", "/otp", testAPIKey, `{"phone":"`+phone+`","purpose":"login"}`); code != 202 {
			t.Fatalf("send: %d %v", code, body)
		}
		// Waiting for its retry, the text is sealed, and so it stays.
		e.waitRow(phone, huduma.MessageOTP, huduma.MsgQueued)
		waiting := e.outboxRow(phone, huduma.MessageOTP).Body
		if !otp.Sealed(waiting) || otpRE.MatchString(waiting) || strings.Contains(waiting, "eCitizen") {
			t.Fatalf("the waiting OTP is stored as %q", waiting)
		}
		e.at.Heal()
		code := otpRE.FindStringSubmatch(e.waitSent(phone, otpRE, 15*time.Second).Message)[1]
		if strings.Contains(waiting, code) {
			t.Fatalf("the sealed text %q shows the code", waiting)
		}
		e.waitRow(phone, huduma.MessageOTP, huduma.MsgSent)
		if got := e.outboxRow(phone, huduma.MessageOTP).Body; got != huduma.OTPRemoved {
			t.Fatalf("after sending, the OTP is stored as %q", got)
		}
		for _, row := range queryRows(t, e.env, `SELECT body FROM outbox UNION ALL SELECT last_error FROM outbox UNION ALL SELECT hash FROM otp_codes`) {
			if strings.Contains(row, code) {
				t.Fatalf("a stored value holds the code: %q", row)
			}
		}
	})
	t.Run("record-only demo", func(t *testing.T) {
		addr := testenv.FreeAddr(t)
		p := &payEnv{t: t, base: "http://" + addr, env: map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_ADDR": addr}}
		p.start()
		if !p.g.cfg.Demo() {
			t.Fatal("not pure demo mode")
		}
		const phone = "+254708374162"
		// Demo mode has no API keys: the code is issued as the API would.
		secret, err := otpSecret(p.g.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := otp.New(p.g.store, secret).SendOTP(context.Background(), "", phone, "login"); err != nil {
			t.Fatal(err)
		}
		var stored huduma.Message
		for deadline := time.Now().Add(5 * time.Second); stored.Status != huduma.MsgRecorded; time.Sleep(25 * time.Millisecond) {
			msgs, _ := p.g.store.Messages(context.Background(), phone, 5)
			if len(msgs) == 1 {
				stored = msgs[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("the OTP was not recorded: %+v", stored)
			}
		}
		if !otp.Sealed(stored.Body) || regexp.MustCompile(`\d{6}`).MatchString(stored.Body) {
			t.Fatalf("the recorded OTP is stored as %q", stored.Body)
		}
		_, inbox := p.getPath("/simulator/inbox?phone=%2B254708374162")
		if !regexp.MustCompile(`code is \d{6}\.`).MatchString(inbox) {
			t.Fatalf("the demo inbox does not show the code: %s", inbox)
		}
	})
}
