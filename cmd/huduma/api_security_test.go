package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
)

// testAPIKey2 is a second agency's key.
const testAPIKey2 = "agency-api-key-for-tests-0002"

const passportOrder = `{"service_code":1001,"phone":"0708374104","fields":{"id_number":"12345678","date_of_birth":"01011990"}}`

// TestIdempotencyKeysAreScoped: a key belongs to the API key that sent it
// and to the request it was first sent with.
func TestIdempotencyKeysAreScoped(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			env := backend(t)
			env["HUDUMA_API_KEYS"] = testAPIKey + "," + testAPIKey2
			e := newSMSEnv(t, env)
			create := func(apiKey, key, body string) (int, map[string]any) {
				t.Helper()
				return e.apiWith("POST", "/invoices", body, map[string]string{"Authorization": "Bearer " + apiKey, "Idempotency-Key": key})
			}
			number := func(body map[string]any) string {
				inv, _ := body["invoice"].(map[string]any)
				n, _ := inv["number"].(string)
				return n
			}
			status, first := create(testAPIKey, "order-1", passportOrder)
			if status != 201 || number(first) == "" {
				t.Fatalf("first: %d %v", status, first)
			}
			// A replay, even spelled differently (phone in E.164), gets the
			// same invoice.
			status, again := create(testAPIKey, "order-1", strings.Replace(passportOrder, "0708374104", "+254708374104", 1))
			if status != 201 || number(again) != number(first) || again["prompt_queued"] != first["prompt_queued"] {
				t.Fatalf("replay: %d %v, want the first invoice %s", status, again, number(first))
			}
			// The same key with another body is refused and changes nothing.
			other := strings.Replace(passportOrder, "12345678", "87654321", 1)
			status, refused := create(testAPIKey, "order-1", other)
			errBody, _ := refused["error"].(map[string]any)
			if status != 422 || errBody["code"] != huduma.EKeyReused || !strings.Contains(errBody["message"].(string), "different request") {
				t.Fatalf("key reused with another body: %d %v, want 422 %s", status, refused, huduma.EKeyReused)
			}
			// Agency B's "order-1" is its own: a new invoice, never A's.
			status, theirs := create(testAPIKey2, "order-1", passportOrder)
			if status != 201 || number(theirs) == "" || number(theirs) == number(first) {
				t.Fatalf("agency B with A's key: %d %v (A's invoice is %s)", status, theirs, number(first))
			}
			invs, err := e.g.payments.InvoicesByPhone(context.Background(), "+254708374104", 0, 10)
			if err != nil || len(invs) != 2 {
				t.Fatalf("%d invoices for the phone (%v), want 2: A's and B's", len(invs), err)
			}
		})
	}
}

// TestOTPSendCapUnderRace: 50 concurrent sends for one phone are accepted
// exactly OTPMaxSends times, on the real Postgres as on SQLite.
func TestOTPSendCapUnderRace(t *testing.T) {
	for name, backend := range payBackends() {
		t.Run(name, func(t *testing.T) {
			e := newSMSEnv(t, backend(t))
			const senders = 50
			var wg sync.WaitGroup
			codes := make(chan int, senders)
			start := make(chan struct{})
			for i := 0; i < senders; i++ {
				wg.Go(func() {
					<-start
					req, _ := http.NewRequest("POST", e.base+"/api/v1/otp", strings.NewReader(`{"phone":"0708374105","purpose":"login"}`))
					req.Header.Set("Authorization", "Bearer "+testAPIKey)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						codes <- 0
						return
					}
					resp.Body.Close()
					codes <- resp.StatusCode
				})
			}
			close(start)
			wg.Wait()
			close(codes)
			got := map[int]int{}
			for c := range codes {
				got[c]++
			}
			if got[202] != 3 || got[429] != senders-3 {
				t.Fatalf("statuses %v, want 3×202 and %d×429", got, senders-3)
			}
			msgs, err := e.g.store.Messages(context.Background(), "+254708374105", 100)
			if err != nil || len(msgs) != 3 {
				t.Fatalf("%d codes queued (%v), want 3", len(msgs), err)
			}
		})
	}
}

// TestAPIEdgeRules: what is checked is what is sent (trimmed text), the
// Bearer scheme and form media types are case-insensitive.
func TestAPIEdgeRules(t *testing.T) {
	e := newSMSEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir()})
	// The limit is four SMS parts (612 characters), counted on the text
	// as sent.
	padded := "   " + strings.Repeat("a", 612) + "   \n"
	if code, body := e.api("POST", "/messages", testAPIKey, `{"to":"0708374106","text":"`+strings.ReplaceAll(padded, "\n", `\n`)+`"}`); code != 202 || body["parts"] != float64(4) {
		t.Fatalf("612 characters with padding: %d %v, want 202 and 4 parts", code, body)
	}
	if m := e.outboxRow("+254708374106", huduma.MessageNotice); m.Body != strings.Repeat("a", 612) {
		t.Fatalf("the outbox holds %d bytes, want the 612 trimmed ones", len(m.Body))
	}
	if code, _ := e.api("POST", "/messages", testAPIKey, `{"to":"0708374106","text":"`+strings.Repeat("b", 613)+`"}`); code != 400 {
		t.Fatalf("613 characters (5 parts): %d, want 400", code)
	}
	for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
		if code, body := e.apiWith("GET", "/services/1001", "", map[string]string{"Authorization": scheme + " " + testAPIKey}); code != 200 {
			t.Errorf("scheme %q: %d %v", scheme, code, body)
		}
	}
	form := url.Values{"sessionId": {"ATUid_case"}, "serviceCode": {"*2222#"}, "phoneNumber": {"+254708374106"}, "networkCode": {"63902"}, "text": {""}}
	req, _ := http.NewRequest("POST", e.base+"/ussd/africastalking?token="+testToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "Application/X-WWW-Form-Urlencoded; Charset=UTF-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("a form with an upper-case media type: %d, want the main menu", resp.StatusCode)
	}
}

// TestTextsNameConfiguredCodes: texts name HUDUMA_SERVICE_CODE and
// MPESA_SHORTCODE, never e-Citizen's own codes.
func TestTextsNameConfiguredCodes(t *testing.T) {
	e := newSMSEnv(t, map[string]string{"HUDUMA_DATA_DIR": t.TempDir(), "HUDUMA_SERVICE_CODE": "*384*22#", "MPESA_SHORTCODE": "600100"})
	const phone = "+254708374107"
	if end := e.dial(phone, "1", "3", "4001", "2"); !strings.Contains(end, "sent the service details") {
		t.Fatalf("sms me details: %s", end)
	}
	if m := e.outboxRow(phone, huduma.MessageReply); !strings.Contains(m.Body, "Dial *384*22# to pay") {
		t.Fatalf("service details: %q", m.Body)
	}
	e.postForm("/sms/africastalking/inbound?token="+testToken, url.Values{"id": {"in-codes"}, "from": {phone}, "to": {"22222"}, "text": {"help"}})
	if m := e.outboxRow(phone, huduma.MessageReply); !strings.Contains(m.Body, "Or dial *384*22#.") {
		t.Fatalf("help reply: %q", m.Body)
	}
	n, _ := e.order("+254763000007") // Equitel: no prompt, its steps to the paybill
	if m := e.outboxRow("+254763000007", huduma.MessageInvoice); !strings.Contains(m.Body, "business no. 600100 > ref "+string(n)) {
		t.Fatalf("invoice text: %q", m.Body)
	}
}

// TestAgencyKeysSeeOnlyTheirAgency: a key written AGENCY:key is that
// agency's. It orders and reads its own services' invoices and
// applications; another agency's are refused (ordering) or answered as
// not found (reading, so a key cannot learn a number exists); suspense
// and refunds need an operator's key; its settlement report is its own.
func TestAgencyKeysSeeOnlyTheirAgency(t *testing.T) {
	const immigration, registrar = "DIS:immigration-api-key-0001", "registrar-api-key-0002"
	env := map[string]string{"HUDUMA_DATA_DIR": t.TempDir(),
		"HUDUMA_API_KEYS": testAPIKey + "," + immigration + ",CRS:" + registrar}
	e := newSMSEnv(t, env)
	dis, crs := "immigration-api-key-0001", registrar
	code := func(body map[string]any) string {
		errBody, _ := body["error"].(map[string]any)
		s, _ := errBody["code"].(string)
		return s
	}
	number := func(body map[string]any) string {
		inv, _ := body["invoice"].(map[string]any)
		n, _ := inv["number"].(string)
		return n
	}
	const birthOrder = `{"service_code":4001,"phone":"0708374105","fields":{"birth_entry":"123456"}}`

	// Each agency orders its own service; neither orders the other's.
	status, passport := e.api("POST", "/invoices", dis, passportOrder)
	if status != 201 || number(passport) == "" {
		t.Fatalf("immigration orders a passport: %d %v", status, passport)
	}
	status, birth := e.api("POST", "/invoices", crs, birthOrder)
	if status != 201 || number(birth) == "" {
		t.Fatalf("the registrar orders a birth certificate: %d %v", status, birth)
	}
	if status, body := e.api("POST", "/invoices", crs, passportOrder); status != 403 || code(body) != huduma.EForbidden {
		t.Fatalf("the registrar orders a passport: %d %v, want 403", status, body)
	}
	if status, body := e.api("POST", "/applications", dis, `{"service_code":4001,"phone":"0708374105","reference":"x"}`); status != 403 {
		t.Fatalf("immigration opens a birth application: %d %v, want 403", status, body)
	}

	// Another agency's invoice reads exactly like one that does not exist.
	_, missing := e.api("GET", "/invoices/100000000"+string(huduma.DammDigit("100000000")), crs, "")
	for _, path := range []string{"/invoices/" + number(passport), "/invoices/" + number(passport) + "/push"} {
		method := "GET"
		if strings.HasSuffix(path, "/push") {
			method = "POST"
		}
		status, body := e.api(method, path, crs, "")
		if status != 404 || fmt.Sprint(body) != fmt.Sprint(missing) {
			t.Fatalf("the registrar %s %s: %d %v, want the 404 of a missing invoice %v", method, path, status, body, missing)
		}
	}
	for key, want := range map[string]int{dis: 200, testAPIKey: 200, crs: 404} {
		if status, _ := e.api("GET", "/invoices/"+number(passport), key, ""); status != want {
			t.Errorf("read the passport invoice with %.4s…: %d, want %d", key, status, want)
		}
	}

	// Money that matches nothing is an operator's.
	for _, path := range []string{"/suspense", "/payments/NLJ7RT61SV"} {
		if status, body := e.api("GET", path, dis, ""); status != 403 || code(body) != huduma.EForbidden {
			t.Fatalf("immigration GET %s: %d %v, want 403", path, status, body)
		}
	}
	if status, body := e.api("POST", "/payments/NLJ7RT61SV/refund", dis, `{}`); status != 403 {
		t.Fatalf("immigration asks a refund: %d %v, want 403", status, body)
	}
	if status, _ := e.api("GET", "/suspense", testAPIKey, ""); status != 200 {
		t.Fatalf("the operator lists suspense: %d", status)
	}
	// Both invoices paid at the paybill, so both agencies have a day.
	for i, body := range []map[string]any{passport, birth} {
		inv, _ := body["invoice"].(map[string]any)
		total, _ := inv["total"].(float64)
		out, err := e.g.payments.ConfirmC2B(context.Background(), huduma.PaybillPayment{TransID: fmt.Sprintf("AGENCY%04d", i), Account: number(body),
			Amount: int64(total), MSISDN: "254708374105", At: time.Now()}, nil)
		if err != nil || out != huduma.OutcomePaid {
			t.Fatalf("pay %s: %s %v", number(body), out, err)
		}
	}
	today := time.Now().In(huduma.EAT).Format("2006-01-02") // the report's days are Nairobi days
	if status, body := e.api("GET", "/reports/settlement?date="+today+"&agency=CRS", dis, ""); status != 403 {
		t.Fatalf("immigration reads the registrar's report: %d %v, want 403", status, body)
	}
	status, report := e.api("GET", "/reports/settlement?date="+today, dis, "")
	if status != 200 {
		t.Fatalf("immigration's own report: %d %v", status, report)
	}
	if s := fmt.Sprint(report); strings.Contains(s, "CRS") || !strings.Contains(s, "DIS") {
		t.Fatalf("immigration's report shows other agencies or not its own: %v", report)
	}
	if _, all := e.api("GET", "/reports/settlement?date="+today, testAPIKey, ""); !strings.Contains(fmt.Sprint(all), "CRS") || !strings.Contains(fmt.Sprint(all), "DIS") {
		t.Fatalf("the operator's report lacks an agency: %v", all)
	}
}
