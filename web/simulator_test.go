package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
)

type fakeInbox struct{}

func (fakeInbox) Messages(context.Context, huduma.MSISDN, int) ([]huduma.Message, error) {
	return nil, nil
}

type recordTexts struct {
	got []string
	err error
}

func (r *recordTexts) Receive(_ context.Context, id string, from huduma.MSISDN, text string) error {
	r.got = append(r.got, id+"|"+string(from)+"|"+text)
	return r.err
}

// TestSimulatorTexts: the web phone's "text the service" hands a valid
// text to the inbox under an id of its own, and refuses bad input with a
// clear 400 before anything is received.
func TestSimulatorTexts(t *testing.T) {
	texts := &recordTexts{}
	s := New(Config{}, Deps{Hops: &fakeHops{}, Events: &fakeEvents{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.MountSimulator(SimulatorConfig{ServiceCode: "*2222#"}, SimulatorDeps{Inbox: fakeInbox{}, Texts: texts})
	send := func(body string) (int, string) {
		req := httptest.NewRequest("POST", SimulatorSMSPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := send(`{"id":"S1","phone":"0712345600","text":"  find passport "}`); code != 202 {
		t.Fatalf("a good text: %d %s", code, body)
	}
	if len(texts.got) != 1 || texts.got[0] != "sim-S1|+254712345600|find passport" {
		t.Fatalf("received %q", texts.got)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"id":"S2","phone":"12","text":"FIND"}`, "phone"},
		{`{"phone":"0712345600","text":"FIND"}`, "id"},
		{`{"id":"S 3","phone":"0712345600","text":"FIND"}`, "id"},
		{`{"id":"S4","phone":"0712345600","text":"   "}`, "text"},
		{`{"id":"S5","phone":"0712345600","text":"` + strings.Repeat("x", maxSimulatorSMS+1) + `"}`, "at most"},
		{`{"id":"S6","phone":"0712345600","text":"FIND","extra":1}`, "unknown field"},
		{`not json`, "invalid"},
	} {
		if code, body := send(tc.body); code != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("%.60s: %d %s, want 400 naming %q", tc.body, code, body, tc.want)
		}
	}
	if len(texts.got) != 1 {
		t.Fatalf("bad input reached the inbox: %q", texts.got)
	}
	texts.err = errors.New("database down")
	if code, body := send(`{"id":"S7","phone":"0712345600","text":"FIND"}`); code != 500 || strings.Contains(body, "database") {
		t.Fatalf("an inbox failure: %d %s, want a bare 500", code, body)
	}

	// Without an inbox there is no route, and the page hides the form.
	s = New(Config{}, Deps{Hops: &fakeHops{}, Events: &fakeEvents{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.MountSimulator(SimulatorConfig{}, SimulatorDeps{Inbox: fakeInbox{}})
	resp, _ := s.App().Test(httptest.NewRequest("GET", "/simulator/config.json", nil), -1)
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"sms_url":""`) {
		t.Fatalf("config without texts: %s", b)
	}
}

// fakeSimPay is the payment simulator's phone side, recording what the
// routes hand it.
type fakeSimPay struct {
	prompts  []SimPrompt
	answers  []string
	paybills []SimPaybill
	answer   error
	result   SimPaybillResult
}

func (f *fakeSimPay) Prompts(phone huduma.MSISDN) []SimPrompt { return f.prompts }
func (f *fakeSimPay) AnswerPrompt(phone huduma.MSISDN, checkout string, a SimAnswer) (SimOutcome, error) {
	f.answers = append(f.answers, fmt.Sprintf("%s|%s|%v|%s", phone, checkout, a.Cancel, a.PIN))
	if f.answer != nil {
		return SimOutcome{}, f.answer
	}
	return SimOutcome{Code: "0", Desc: "The service request is processed successfully."}, nil
}
func (f *fakeSimPay) PayBill(_ context.Context, p SimPaybill) (SimPaybillResult, error) {
	f.paybills = append(f.paybills, p)
	return f.result, nil
}
func (f *fakeSimPay) PIN() string { return "1234" }

type fakeSuspense struct{ items []huduma.ReceivedPayment }

func (f fakeSuspense) ListSuspense(context.Context, huduma.SuspenseFilter) ([]huduma.ReceivedPayment, error) {
	return f.items, nil
}

// TestSimulatorPayments: the web phone's prompt, answer, paybill,
// suspense and end-of-session routes hand valid requests on and refuse
// bad ones with a clear 400 before anything reaches the simulator; a
// prompt already answered is 409, another phone's 404; a confirmation the
// gateway did not take is an error the page shows, never a success.
func TestSimulatorPayments(t *testing.T) {
	pay := &fakeSimPay{prompts: []SimPrompt{{Checkout: "ws_CO_1", Amount: 55, Account: "1234567894", Business: "174379", Expires: time.Now().Add(30 * time.Second)}},
		result: SimPaybillResult{TransID: "SIMULATED0000001", Confirmed: true}}
	events := &fakeEvents{}
	held := fakeSuspense{items: []huduma.ReceivedPayment{{TransID: "SIMULATED0000002", Account: "0712345678", Amount: 300, Suspense: 300,
		State: huduma.PaymentSuspense, Reason: huduma.ReasonUnknownAccount}}}
	s := New(Config{}, Deps{Hops: &fakeHops{}, Events: events}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.MountSimulator(SimulatorConfig{ServiceCode: "*2222#"}, SimulatorDeps{Inbox: fakeInbox{}, Payments: pay, Suspense: held})
	call := func(method, path, ct, body string) (int, string) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := s.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(path, body string) (int, string) { return call("POST", path, "application/json", body) }

	if code, body := call("GET", "/simulator/config.json", "", ""); code != 200 || !strings.Contains(body, `"prompts_url":"/simulator/prompts"`) ||
		!strings.Contains(body, `"paybill_url":"/simulator/paybill"`) || !strings.Contains(body, `"pin":"1234"`) ||
		!strings.Contains(body, `"events_url":"/simulator/ussd/events"`) || !strings.Contains(body, `{"name":"Equitel","code":"63999","number":"+254763000100"}`) {
		t.Fatalf("config: %d %s", code, body)
	}
	if code, body := call("GET", "/simulator/prompts?phone=0712345600", "", ""); code != 200 ||
		!strings.Contains(body, `"checkout":"ws_CO_1","amount":55,"account":"1234567894","business":"174379","seconds_left":`) {
		t.Fatalf("prompts: %d %s", code, body)
	}
	if code, body := call("GET", "/simulator/prompts?phone=12", "", ""); code != 400 || !strings.Contains(body, "phone") {
		t.Fatalf("prompts of a bad number: %d %s", code, body)
	}

	if code, body := post(SimulatorAnswerPath, `{"phone":"0712345600","checkout":"ws_CO_1","answer":"pin","pin":"1234"}`); code != 200 || !strings.Contains(body, `"result_code":"0"`) {
		t.Fatalf("answer: %d %s", code, body)
	}
	if code, _ := post(SimulatorAnswerPath, `{"phone":"0712345600","checkout":"ws_CO_1","answer":"cancel"}`); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"phone":"0712345600","checkout":"ws_CO_1","answer":"pin","pin":"12"}`, "pin"},
		{`{"phone":"0712345600","checkout":"ws_CO_1","answer":"pin","pin":"12a4"}`, "pin"},
		{`{"phone":"0712345600","checkout":"ws_CO_1","answer":"maybe"}`, "answer"},
		{`{"phone":"0712345600","answer":"cancel"}`, "checkout"},
		{`{"phone":"07123","checkout":"ws_CO_1","answer":"cancel"}`, "phone"},
		{`{"phone":"0712345600","checkout":"ws_CO_1","answer":"cancel","extra":1}`, "unknown field"},
	} {
		if code, body := post(SimulatorAnswerPath, tc.body); code != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("answer %s: %d %s, want 400 naming %s", tc.body, code, body, tc.want)
		}
	}
	if want := []string{"+254712345600|ws_CO_1|false|1234", "+254712345600|ws_CO_1|true|"}; !slices.Equal(pay.answers, want) {
		t.Fatalf("answers %q, want %q", pay.answers, want)
	}
	for err, status := range map[error]int{huduma.Errorf(huduma.EConflict, "answered"): 409, huduma.Errorf(huduma.ENotFound, "no such"): 404} {
		pay.answer = err
		if code, _ := post(SimulatorAnswerPath, `{"phone":"0712345600","checkout":"ws_CO_1","answer":"cancel"}`); code != status {
			t.Errorf("answer refused with %v: %d, want %d", err, code, status)
		}
	}

	if code, body := post(SimulatorPaybillPath, `{"phone":"0712345600","account":"  1234567894 ","amount":300,"validate":true}`); code != 200 ||
		!strings.Contains(body, `"trans_id":"SIMULATED0000001"`) {
		t.Fatalf("paybill: %d %s", code, body)
	}
	if got := pay.paybills; len(got) != 1 || got[0] != (SimPaybill{Phone: "+254712345600", Account: "1234567894", Amount: 300, Validate: true}) {
		t.Fatalf("paybill handed on as %+v", got)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"phone":"0712345600","account":"1234567894","amount":0}`, "amount"},
		{`{"phone":"0712345600","account":"1234567894","amount":250001}`, "amount"},
		{`{"phone":"0712345600","account":"1234567894","amount":1.5}`, "invalid JSON"},
		{`{"phone":"0712345600","account":"1234567894","amount":"300"}`, "invalid JSON"},
		{`{"phone":"0712345600","account":"","amount":300}`, "account"},
		{`{"phone":"0712345600","account":"123456789012345678901","amount":300}`, "account"},
		{`{"phone":"0712345600","account":"12\u001b[2J","amount":300}`, "account"},
		{`{"phone":"+1555","account":"1234567894","amount":300}`, "phone"},
	} {
		if code, body := post(SimulatorPaybillPath, tc.body); code != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("paybill %s: %d %s, want 400 naming %s", tc.body, code, body, tc.want)
		}
	}
	if len(pay.paybills) != 1 {
		t.Fatalf("bad paybills reached the simulator: %+v", pay.paybills)
	}
	pay.result = SimPaybillResult{TransID: "SIMULATED0000003", Rejected: "C2B00012"}
	if code, body := post(SimulatorPaybillPath, `{"phone":"0712345600","account":"nothing","amount":300,"validate":true}`); code != 200 ||
		!strings.Contains(body, `"rejected":"C2B00012"`) {
		t.Fatalf("a refused paybill: %d %s", code, body)
	}
	pay.result = SimPaybillResult{TransID: "SIMULATED0000004"}
	if code, body := post(SimulatorPaybillPath, `{"phone":"0712345600","account":"nothing","amount":300}`); code != 503 || !strings.Contains(body, "SIMULATED0000004") {
		t.Fatalf("a confirmation the gateway did not take: %d %s", code, body)
	}

	if code, body := call("GET", SimulatorSuspensePath, "", ""); code != 200 || !strings.Contains(body, `"trans_id":"SIMULATED0000002"`) ||
		!strings.Contains(body, `"held":300`) || strings.Contains(body, "0712345678") {
		t.Fatalf("suspense: %d %s", code, body)
	}

	if code, _ := call("POST", SimulatorEventsPath, "application/x-www-form-urlencoded",
		"sessionId=SIMabc&phoneNumber=%2B254712345600&serviceCode=%2A2222%23&networkCode=63902&status=Incomplete&input=1%2A1"); code != 200 ||
		len(events.got) != 1 || events.got[0].SessionID != "SIMabc" || events.got[0].Status != "Incomplete" {
		t.Fatalf("end of session: %d %+v", code, events.got)
	}

	// Real M-Pesa: no prompts, no paybill form.
	s = New(Config{}, Deps{Hops: &fakeHops{}, Events: events}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.MountSimulator(SimulatorConfig{}, SimulatorDeps{Inbox: fakeInbox{}})
	if code, body := call("GET", "/simulator/config.json", "", ""); !strings.Contains(body, `"prompts_url":""`) || !strings.Contains(body, `"paybill_url":""`) ||
		!strings.Contains(body, `"suspense_url":""`) {
		t.Fatalf("config without payments: %d %s", code, body)
	}
	if code, _ := post(SimulatorPaybillPath, `{"phone":"0712345600","account":"x","amount":3}`); code == 200 {
		t.Fatal("a paybill route without the simulator")
	}
}

// TestSimulatorNetworks: each network's number parses, is of that
// network wherever the gateway knows the network, and none is the number
// `huduma sim` and the README's replay dial.
func TestSimulatorNetworks(t *testing.T) {
	for _, n := range simulatorNetworks {
		m, err := huduma.ParseMSISDN(n.Number)
		if err != nil || string(m) != n.Number {
			t.Errorf("%s: %q parses as %q, %v", n.Name, n.Number, m, err)
		}
		if got := m.Network(); got != huduma.OtherNetwork && !strings.EqualFold(string(got), n.Name) {
			t.Errorf("%s: %s is a %s number", n.Name, n.Number, got)
		}
		if len(n.Code) != 5 || !strings.HasPrefix(n.Code, "639") {
			t.Errorf("%s: network code %q", n.Name, n.Code)
		}
	}
	if SimulatorPhone == "+254712345600" {
		t.Fatal("the web phone's default is the terminal phone's")
	}
}
