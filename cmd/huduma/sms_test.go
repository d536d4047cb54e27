package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers/africastalking/atfake"
)

const (
	testATKey  = "at-api-key-for-tests"
	testAPIKey = "agency-api-key-for-tests-0001"
)

// smsEnv is a payEnv whose outbox sends through a fake Africa's Talking
// and whose agency API is open to testAPIKey.
type smsEnv struct {
	*payEnv
	at *atfake.Fake
}

func newSMSEnv(t *testing.T, backend map[string]string) *smsEnv {
	t.Helper()
	at, err := atfake.Start(testATKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { at.Close() })
	backend["AT_USERNAME"], backend["AT_API_KEY"], backend["AT_SMS_URL"] = "sandbox", testATKey, at.SMSURL()
	if backend["HUDUMA_API_KEYS"] == "" {
		backend["HUDUMA_API_KEYS"] = testAPIKey
	}
	backend["HUDUMA_SMS_RETRY"], backend["HUDUMA_SMS_RATE"] = "100ms", "500"
	return &smsEnv{payEnv: newPayEnv(t, backend), at: at}
}

// sentTo returns what the fake AT accepted for phone whose text matches.
func (e *smsEnv) sentTo(phone string, match *regexp.Regexp) []atfake.Sent {
	var out []atfake.Sent
	for _, s := range e.at.Sent() {
		if s.To == phone && match.MatchString(s.Message) {
			out = append(out, s)
		}
	}
	return out
}

// waitSent waits until the fake AT accepted a matching message for phone
// and returns the first one.
func (e *smsEnv) waitSent(phone string, match *regexp.Regexp, within time.Duration) atfake.Sent {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if got := e.sentTo(phone, match); len(got) > 0 {
			return got[0]
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no SMS to %s matching %q within %s; the fake got %d requests", phone, match, within, e.at.Requests())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// settle waits until the gateway has drained its prompts and texts, so a
// duplicate send, if there were one, would have happened.
func (e *smsEnv) settle() { e.drain() }

// api calls the agency API with key ("" for none) and decodes the JSON.
func (e *smsEnv) api(method, path, key, body string) (int, map[string]any) {
	e.t.Helper()
	h := map[string]string{}
	if key != "" {
		h["Authorization"] = "Bearer " + key
	}
	return e.apiWith(method, path, body, h)
}

// apiWith is api with the request headers given.
func (e *smsEnv) apiWith(method, path, body string, headers map[string]string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+"/api/v1"+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatalf("%s %s: %d %q is not a JSON object", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// outboxRow finds the outbox message to phone with kind.
func (e *smsEnv) outboxRow(phone huduma.MSISDN, kind huduma.MessageKind) huduma.Message {
	e.t.Helper()
	msgs, err := e.g.store.Messages(context.Background(), phone, 50)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Kind == kind {
			return m
		}
	}
	e.t.Fatalf("no %s message to %s in the outbox", kind, phone)
	return huduma.Message{}
}

// waitRow waits until the outbox message of kind to phone has status.
func (e *smsEnv) waitRow(phone huduma.MSISDN, kind huduma.MessageKind, status huduma.MessageStatus) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := e.outboxRow(phone, kind).Status
		if got == status {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s to %s is %q, want %q", kind, phone, got, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSMSReceiptOnceAndDelivery: AT answers 500 for a while, the receipt
// still arrives exactly once, and delivery reports update the message
// without a late report undoing a final state.
func TestSMSReceiptOnceAndDelivery(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			e := newSMSEnv(t, backend(t))
			const phone = "+254708374100"
			e.at.FailNext(4, http.StatusInternalServerError)
			n, _ := e.order(phone)
			e.waitStatus(n, huduma.InvoicePaid, 10*time.Second)
			receipt := regexp.MustCompile(`^PAID: eCitizen invoice ` + string(n))
			got := e.waitSent(phone, receipt, 10*time.Second)
			e.settle()
			if all := e.sentTo(phone, receipt); len(all) != 1 {
				t.Fatalf("the receipt reached AT %d times, want 1", len(all))
			}
			if e.at.Requests() < 5 {
				t.Fatalf("AT saw %d requests; the 4 failures were not retried through", e.at.Requests())
			}
			if got.APIKey != testATKey || got.Username != "sandbox" || len(got.MessageIDs) != 1 {
				t.Fatalf("send %+v", got)
			}
			e.waitRow(phone, huduma.MessageReceipt, huduma.MsgSent)
			id := got.MessageIDs[0]
			for _, step := range []struct {
				status string
				want   huduma.MessageStatus
			}{
				{"Buffered", huduma.MsgSent}, {"Success", huduma.MsgDelivered},
				{"Failed", huduma.MsgDelivered}, // a late report never undoes a final state
				{"Success", huduma.MsgDelivered}, {"SomethingNew", huduma.MsgDelivered},
			} {
				if code, body := e.postForm("/sms/africastalking/delivery?token="+testToken, atfake.DeliveryReportForm(id, step.status, phone, "")); code != 200 {
					t.Fatalf("delivery %s: %d %s", step.status, code, body)
				}
				if st := e.outboxRow(phone, huduma.MessageReceipt).Status; st != step.want {
					t.Fatalf("after %s the receipt is %q, want %q", step.status, st, step.want)
				}
			}
			// An unknown id is accepted (AT must stop retrying) and changes nothing;
			// a malformed report is refused.
			if code, _ := e.postForm("/sms/africastalking/delivery?token="+testToken, atfake.DeliveryReportForm("ATXid_unknown", "Success", phone, "")); code != 200 {
				t.Fatalf("unknown id: %d", code)
			}
			if code, _ := e.postForm("/sms/africastalking/delivery?token="+testToken, url.Values{"status": {"Success"}}); code != 400 {
				t.Fatalf("report without id: %d, want 400", code)
			}
			// A rejected message keeps AT's reason.
			_, inv := e.api("POST", "/messages", testAPIKey, `{"to":"0708374101","text":"Your certificate is ready."}`)
			if inv["status"] != "queued" {
				t.Fatalf("queue notice: %v", inv)
			}
			notice := e.waitSent("+254708374101", regexp.MustCompile(`certificate is ready`), 5*time.Second)
			e.waitRow("+254708374101", huduma.MessageNotice, huduma.MsgSent) // AT's 201 reaches the fake before our update
			e.postForm("/sms/africastalking/delivery?token="+testToken, atfake.DeliveryReportForm(notice.MessageIDs[0], "Rejected", "+254708374101", "UserInBlacklist"))
			if st := e.outboxRow("+254708374101", huduma.MessageNotice).Status; st != huduma.MsgFailed {
				t.Fatalf("rejected notice is %q, want failed", st)
			}
		})
	}
}

// TestSMSInbound: keywords in both languages, the same AT id twice gives
// one reply, STOP silences notices but not codes.
func TestSMSInbound(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			e := newSMSEnv(t, backend(t))
			const phone = "+254708374102"
			n, _ := e.order(phone)
			for i := 0; i < 2; i++ {
				if code, body := e.postForm("/sms/africastalking/inbound?token="+testToken, atfake.IncomingSMSForm("in-1", phone, "22222", "  hali   "+string(n))); code != 200 {
					t.Fatalf("inbound: %d %s", code, body)
				}
			}
			status := regexp.MustCompile(`^Ankara ` + string(n) + ` INASUBIRI`)
			e.waitSent(phone, status, 5*time.Second)
			e.settle()
			if got := e.sentTo(phone, status); len(got) != 1 {
				t.Fatalf("the same inbound id gave %d replies, want 1", len(got))
			}
			cases := []struct{ id, text, reply string }{
				{"in-2", "STATUS 1234567890", `not valid`},
				{"in-3", "status 0000000000", `No invoice has that number`},
				{"in-4", "what is this", `^eCitizen by SMS: FIND`},
				{"in-5", "MSAADA", `^eCitizen kwa SMS: TAFUTA`},
				{"in-6", "App 99", `No application has that number`},
				{"in-7", "stop", `no longer get eCitizen notices`},
			}
			for _, c := range cases {
				if code, _ := e.postForm("/sms/africastalking/inbound?token="+testToken, atfake.IncomingSMSForm(c.id, phone, "22222", c.text)); code != 200 {
					t.Fatalf("%q: %d", c.text, code)
				}
				e.waitSent(phone, regexp.MustCompile(c.reply), 5*time.Second)
			}
			// After STOP a notice is held back; an OTP still goes.
			e.api("POST", "/messages", testAPIKey, `{"to":"`+phone+`","text":"Offices close early on Friday."}`)
			if code, _ := e.api("POST", "/otp", testAPIKey, `{"phone":"`+phone+`","purpose":"login"}`); code != 202 {
				t.Fatalf("otp after STOP: %d", code)
			}
			e.waitSent(phone, regexp.MustCompile(`Your eCitizen code is`), 5*time.Second)
			e.settle()
			if got := e.sentTo(phone, regexp.MustCompile(`close early`)); len(got) != 0 {
				t.Fatal("a notice went to a phone that sent STOP")
			}
			if st := e.outboxRow(phone, huduma.MessageNotice).Status; st != huduma.MsgOptedOut {
				t.Fatalf("held notice is %q", st)
			}
			// Garbage is refused and stores nothing.
			if code, _ := e.postForm("/sms/africastalking/inbound?token="+testToken, url.Values{"from": {"not a phone"}, "text": {"HELP"}, "id": {"in-9"}}); code != 400 {
				t.Fatalf("garbage inbound: %d, want 400", code)
			}
		})
	}
}

var otpRE = regexp.MustCompile(`code is (\d{6})\.`)

// TestOTP: send, wrong code, right code, reuse, lockout after five
// wrong tries, and the per-phone send limit.
func TestOTP(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			e := newSMSEnv(t, backend(t))
			const phone = "+254708374103"
			send := func() string {
				t.Helper()
				before := len(e.sentTo(phone, otpRE))
				if code, body := e.api("POST", "/otp", testAPIKey, `{"phone":"0708 374 103","purpose":"login"}`); code != 202 {
					t.Fatalf("send otp: %d %v", code, body)
				}
				deadline := time.Now().Add(5 * time.Second)
				for len(e.sentTo(phone, otpRE)) == before {
					if time.Now().After(deadline) {
						t.Fatal("the OTP never reached AT")
					}
					time.Sleep(25 * time.Millisecond)
				}
				all := e.sentTo(phone, otpRE)
				return otpRE.FindStringSubmatch(all[len(all)-1].Message)[1]
			}
			verify := func(purpose, code string) bool {
				t.Helper()
				status, body := e.api("POST", "/otp/verify", testAPIKey, `{"phone":"254708374103","purpose":"`+purpose+`","code":"`+code+`"}`)
				if status != 200 {
					t.Fatalf("verify: %d %v", status, body)
				}
				return body["valid"] == true
			}
			wrong := func(code string) string { return string("0123456789"[(code[0]-'0'+1)%10]) + code[1:] }

			code := send()
			if verify("login", wrong(code)) {
				t.Fatal("a wrong code passed")
			}
			if verify("payment", code) {
				t.Fatal("a code passed for another purpose")
			}
			if !verify("login", code) {
				t.Fatal("the right code failed")
			}
			if verify("login", code) {
				t.Fatal("a code passed twice")
			}
			code = send()
			for i := 0; i < 5; i++ {
				if verify("login", wrong(code)) {
					t.Fatal("a wrong code passed")
				}
			}
			if verify("login", code) {
				t.Fatal("the right code passed after 5 wrong tries")
			}
			send()
			status, body := e.api("POST", "/otp", testAPIKey, `{"phone":"+254708374103","purpose":"login"}`)
			if errBody, _ := body["error"].(map[string]any); status != 429 || errBody["code"] != huduma.ERateLimited {
				t.Fatalf("fourth code in 10 minutes: %d %v, want 429", status, body)
			}
			e.settle()
			if got := len(e.sentTo(phone, otpRE)); got != 3 {
				t.Fatalf("%d codes reached AT, want 3", got)
			}
			msgs, _ := e.g.store.Messages(context.Background(), phone, 50)
			for _, m := range msgs {
				if strings.Contains(m.Body, code) && m.Kind != huduma.MessageOTP {
					t.Fatalf("code leaked into a %s message", m.Kind)
				}
			}
		})
	}
}

// TestAgencyAPI calls every route with good input, bad input and without
// a key, then follows an application from creation to USSD tracking.
func TestAgencyAPI(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			e := newSMSEnv(t, backend(t))
			const phone = "+254708374104"
			status, created := e.api("POST", "/invoices", testAPIKey,
				`{"service_code":1001,"phone":"0708374104","fields":{"id_number":"12345678","date_of_birth":"01011990"}}`)
			if status != 201 {
				t.Fatalf("create invoice: %d %v", status, created)
			}
			inv := created["invoice"].(map[string]any)
			number, _ := inv["number"].(string)
			if inv["total"] != float64(4600) || inv["phone"] != phone {
				t.Fatalf("invoice %v", inv)
			}
			status, app := e.api("POST", "/applications", testAPIKey, `{"service_code":1001,"phone":"0708374104","reference":"PP-77"}`)
			if status != 201 {
				t.Fatalf("create application: %d %v", status, app)
			}
			appNo, _ := app["number"].(string)

			type call struct {
				method, path, body string
				want               int
				errCode            string // for failures
			}
			routes := []struct {
				name      string
				good, bad call
			}{
				{"search", call{"GET", "/services?q=pasport", "", 200, ""}, call{"GET", "/services?q=", "", 400, huduma.EInvalid}},
				{"service", call{"GET", "/services/1001", "", 200, ""}, call{"GET", "/services/999999", "", 404, huduma.ENotFound}},
				{"create invoice", call{"POST", "/invoices", `{"service_code":1001,"phone":"0708374104","fields":{"id_number":"12345678","date_of_birth":"01011990"},"push":true}`, 201, ""},
					call{"POST", "/invoices", `{"service_code":1001,"phone":"12","fields":{}}`, 400, huduma.EInvalid}},
				{"unknown field", call{"GET", "/invoices/" + number, "", 200, ""}, call{"POST", "/invoices", `{"service_code":1001,"phone":"0708374104","amount":1}`, 400, huduma.EInvalid}},
				{"invoice", call{"GET", "/invoices/" + number, "", 200, ""}, call{"GET", "/invoices/1234567890", "", 400, huduma.EInvalid}},
				{"push", call{"POST", "/invoices/" + number + "/push", "", 202, ""}, call{"POST", "/invoices/" + string(huduma.NewInvoiceNumber()) + "/push", "", 404, huduma.ENotFound}},
				{"message", call{"POST", "/messages", `{"to":"0708374104","text":"Hello from the registry."}`, 202, ""},
					call{"POST", "/messages", `{"to":"0708374104","text":""}`, 400, huduma.EInvalid}},
				{"otp", call{"POST", "/otp", `{"phone":"0708374104","purpose":"login"}`, 202, ""},
					call{"POST", "/otp", `{"phone":"0708374104","purpose":"LOG IN!"}`, 400, huduma.EInvalid}},
				{"otp verify", call{"POST", "/otp/verify", `{"phone":"0708374104","purpose":"login","code":"000000"}`, 200, ""},
					call{"POST", "/otp/verify", `{"phone":"garbage","purpose":"login","code":"000000"}`, 400, huduma.EInvalid}},
				{"create application", call{"POST", "/applications", `{"service_code":1001,"phone":"0708374104"}`, 201, ""},
					call{"POST", "/applications", `{"service_code":424242,"phone":"0708374104"}`, 404, huduma.ENotFound}},
				{"application", call{"GET", "/applications/" + appNo, "", 200, ""}, call{"GET", "/applications/0000000000", "", 404, huduma.ENotFound}},
				{"update application", call{"PUT", "/applications/" + appNo, `{"status":"in_review","note":""}`, 200, ""},
					call{"PUT", "/applications/" + appNo, `{"status":"lost"}`, 400, huduma.EInvalid}},
			}
			for _, r := range routes {
				if got, body := e.api(r.good.method, r.good.path, testAPIKey, r.good.body); got != r.good.want {
					t.Errorf("%s good: %d %v, want %d", r.name, got, body, r.good.want)
				}
				got, body := e.api(r.bad.method, r.bad.path, testAPIKey, r.bad.body)
				errBody, _ := body["error"].(map[string]any)
				if got != r.bad.want || errBody["code"] != r.bad.errCode || errBody["message"] == "" {
					t.Errorf("%s bad: %d %v, want %d %s", r.name, got, body, r.bad.want, r.bad.errCode)
				}
				for _, key := range []string{"", "wrong-key-wrong-key-wrong"} {
					got, body := e.api(r.good.method, r.good.path, key, r.good.body)
					if errBody, _ := body["error"].(map[string]any); got != 401 || errBody["code"] != huduma.EUnauthorized {
						t.Errorf("%s with key %q: %d %v, want 401", r.name, key, got, body)
					}
				}
			}
			// Long texts are counted in parts (153 characters each).
			long := strings.Repeat("Huduma Centre GPO opens at 8am. ", 7) // 224 characters
			if code, body := e.api("POST", "/messages", testAPIKey, `{"to":"0708374104","text":"`+long+`"}`); code != 202 || body["parts"] != float64(2) {
				t.Fatalf("long message: %d %v, want 2 parts", code, body)
			}
			if m := e.outboxRow(phone, huduma.MessageNotice); m.Parts != 2 || m.Body != strings.TrimSpace(long) {
				t.Fatalf("long message in the outbox: %d parts", m.Parts)
			}
			// The same Idempotency-Key gives the same invoice.
			var numbers []any
			for i := 0; i < 2; i++ {
				req, _ := http.NewRequest("POST", e.base+"/api/v1/invoices", strings.NewReader(`{"service_code":1001,"phone":"0708374104","fields":{"id_number":"12345678","date_of_birth":"01011990"}}`))
				req.Header.Set("Authorization", "Bearer "+testAPIKey)
				req.Header.Set("Idempotency-Key", "order-77")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var body struct{ Invoice map[string]any }
				json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				numbers = append(numbers, body.Invoice["number"])
			}
			if numbers[0] == nil || numbers[0] != numbers[1] {
				t.Fatalf("one Idempotency-Key gave invoices %v", numbers)
			}
			if code, _ := e.api("GET", "/openapi.json", "", ""); code != 200 {
				t.Fatalf("openapi.json: %d", code)
			}

			// An update texts the applicant and shows on the USSD track screen.
			if code, body := e.api("PUT", "/applications/"+appNo, testAPIKey, `{"status":"ready_for_collection","note":"Collect at Nyayo House."}`); code != 200 {
				t.Fatalf("update: %d %v", code, body)
			}
			e.waitSent(phone, regexp.MustCompile(`^Application `+appNo+` .*READY FOR COLLECTION.*Nyayo House`), 5*time.Second)
			screen := e.dial(phone, "5", appNo)
			if !strings.Contains(screen, appNo) || !strings.Contains(screen, "READY FOR COLLECTION") {
				t.Fatalf("track screen: %s", screen)
			}
			// The APP keyword answers the same.
			e.postForm("/sms/africastalking/inbound?token="+testToken, atfake.IncomingSMSForm("in-app", phone, "22222", "ombi "+appNo))
			e.waitSent(phone, regexp.MustCompile(`^Ombi `+appNo), 5*time.Second)
		})
	}
}
