// Package darajafake is a Daraja (M-Pesa) look-alike served over real
// HTTP: OAuth, STK push with a callback to the CallBackURL a moment later,
// and STK query. The last two digits of the paying phone choose the outcome
// (Outcomes below), so one fake serves every scenario; in interactive mode
// a person holding the phone answers instead (phone.go). Tests use it to
// check the client on the wire; the embedded mode runs it as the payment
// simulator, so the gateway's real Daraja client and callback route are
// exercised even without M-Pesa credentials.
package darajafake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outcome is what happens after a push.
type Outcome struct {
	// Code is the callback ResultCode ("0" success).
	Code string
	Desc string
	// NoCallback: no callback at all, so the caller must query.
	NoCallback bool
	// PushError: the push itself is refused with ResultCode 1025.
	PushError bool
	// Undecided: the customer never answers. No callback comes, and the
	// query says "The transaction is being processed" for as long as the
	// fake runs, so the caller's query backoff and give-up are exercised.
	Undecided bool
}

// Outcomes by the phone's last two digits; anything else succeeds.
var Outcomes = map[string]Outcome{
	"00": {Code: "0", Desc: "The service request is processed successfully."},
	"01": {Code: "1032", Desc: "Request cancelled by user"},
	"02": {Code: "1", Desc: "The balance is insufficient for the transaction"},
	"03": {Code: "2001", Desc: "The initiator information is invalid."},
	"04": {Code: "0", Desc: "The service request is processed successfully.", NoCallback: true},
	"05": {Code: "1037", Desc: "DS timeout user cannot be reached"},
	"06": {Code: "1037", Desc: "DS timeout user cannot be reached"},
	"07": {PushError: true},
	"08": {Undecided: true},
	"09": {Code: "1019", Desc: "Transaction has expired"},
}

// OutcomeFor returns the outcome for a phone (digits, 2547...).
func OutcomeFor(phone string) Outcome {
	if len(phone) >= 2 {
		if o, ok := Outcomes[phone[len(phone)-2:]]; ok {
			return o
		}
	}
	return Outcomes["00"]
}

// Push is a push request as the fake received it.
type Push struct {
	Body     map[string]any
	At       time.Time
	Checkout string
}

// Options configure the fake.
type Options struct {
	ConsumerKey, ConsumerSecret, Passkey string
	// CallbackDelay is how long after a push the callback comes.
	CallbackDelay time.Duration
	// AnswerDelay is how long every push and query takes to answer, as a
	// busy Daraja does (0 answers at once). A push counts as received
	// (Push.At) when it arrives, before the delay.
	AnswerDelay time.Duration
	// ExpiresInNumber sends expires_in as a JSON number (Daraja's docs)
	// instead of a string (what Daraja often sends).
	ExpiresInNumber bool
	// PageSize is how many rows a Pull Transactions answer holds (default
	// 100), so callers' offsets are exercised.
	PageSize int
	// Initiator and SecurityCredential are what reversals must carry
	// (empty: any).
	Initiator, SecurityCredential string
	Log                           *slog.Logger
	// Simulator marks every receipt number this fake issues as
	// simulated (SimulatedPrefix and seven digits), for the gateway's
	// payment simulator: the receipt a payer reads then says SIMULATED
	// wherever it is shown, and no real receipt (ten characters) can be
	// taken for one.
	Simulator bool
	// Interactive lets a person answer the prompts pushed to a phone they
	// hold (Hold, Answer): the web phone. Prompts to other phones follow
	// the last two digits.
	Interactive bool
	// PromptTimeout is how long an interactive prompt waits for its
	// answer before it times out (default DefaultPromptTimeout); PIN is
	// the PIN that pays (default DefaultPIN).
	PromptTimeout time.Duration
	PIN           string
	// ValidationURL and ConfirmationURL are where PayBill posts, what
	// registering the C2B URLs tells Daraja; ShortCode is the paybill
	// they name (default 174379).
	ValidationURL, ConfirmationURL string
	ShortCode                      string
}

// SimulatedPrefix starts every receipt the payment simulator issues
// (Options.Simulator).
const SimulatedPrefix = "SIMULATED"

// Fake is a running fake Daraja.
type Fake struct {
	opts   Options
	srv    *http.Server
	ln     net.Listener
	client *http.Client

	mu      sync.Mutex
	token   string
	tokens  int
	pushes  []Push
	results map[string]decided
	faults  []fault
	// down, while set, answers every API call (Down).
	down    *fault
	seq     int
	queries int
	// txns are the paybill's transactions, as the Pull Transactions API
	// lists them: the prompts paid, and those added by AddTransaction.
	txns       []Transaction
	registered map[string]bool
	pulls      int
	reversals  []Reversal
	refusals   map[string]Refusal
	reversed   map[string]bool
	receipts   int64
	// held are the phones a person holds, until when (Hold); waiting the
	// interactive prompts not yet answered, by CheckoutRequestID.
	held    map[string]time.Time
	waiting map[string]*waiting
	closed  bool
}

type decided struct {
	outcome Outcome
	amount  string
	phone   string
	receipt string
	account string
	at      time.Time
	ready   time.Time
}

type fault struct {
	status int
	body   string
	hang   time.Duration
}

// Start serves the fake on a loopback port.
func Start(opts Options) (*Fake, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("darajafake listen: %w", err)
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 100
	}
	f := &Fake{opts: opts, ln: ln, results: map[string]decided{}, client: &http.Client{Timeout: 5 * time.Second},
		registered: map[string]bool{}, refusals: map[string]Refusal{}, reversed: map[string]bool{}, receipts: time.Now().Unix() % 10_000_000,
		held: map[string]time.Time{}, waiting: map[string]*waiting{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth/v1/generate", f.oauth)
	mux.HandleFunc("POST /mpesa/stkpush/v1/processrequest", f.push)
	mux.HandleFunc("POST /mpesa/stkpushquery/v1/query", f.query)
	mux.HandleFunc("POST /pulltransactions/v1/register", f.pullRegister)
	mux.HandleFunc("POST /pulltransactions/v1/query", f.pullQuery)
	mux.HandleFunc("POST /mpesa/reversal/v1/request", f.reversal)
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go f.srv.Serve(ln)
	return f, nil
}

// URL is the fake's base URL (MPESA_BASE_URL).
func (f *Fake) URL() string { return "http://" + f.ln.Addr().String() }

// Close stops the fake; prompts still waiting are never decided.
func (f *Fake) Close() error {
	f.mu.Lock()
	f.closed = true
	for _, w := range f.waiting {
		w.timer.Stop()
	}
	f.mu.Unlock()
	return f.srv.Close()
}

// Pushes returns the pushes received so far.
func (f *Fake) Pushes() []Push {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Push(nil), f.pushes...)
}

// Queries counts STK query requests received, whatever they were answered.
func (f *Fake) Queries() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries
}

// TokensIssued counts OAuth tokens handed out.
func (f *Fake) TokensIssued() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens
}

// Fail makes the next n API calls (push or query) answer status with body,
// e.g. 500 or a spike-arrest error.
func (f *Fake) Fail(n, status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < n; i++ {
		f.faults = append(f.faults, fault{status: status, body: body})
	}
}

// Down makes every API call (push or query) answer status with body until
// Up: an outage of a length the test decides, as opposed to Fail's count
// of calls. A push answered so is not received (Pushes leaves it out).
func (f *Fake) Down(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = &fault{status: status, body: body}
}

// Up ends the outage Down began.
func (f *Fake) Up() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = nil
}

// Hang makes the next API call wait d before answering (timeouts).
func (f *Fake) Hang(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, fault{hang: d})
}

// InvalidateToken makes the current token invalid, as a newer token
// elsewhere would.
func (f *Fake) InvalidateToken() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.token = "revoked"
}

func (f *Fake) oauth(w http.ResponseWriter, r *http.Request) {
	k, s, ok := r.BasicAuth()
	if !ok || k != f.opts.ConsumerKey || s != f.opts.ConsumerSecret || r.URL.Query().Get("grant_type") != "client_credentials" {
		writeJSON(w, 400, map[string]string{"errorCode": "400.008.01", "errorMessage": "Invalid Authentication passed"})
		return
	}
	f.mu.Lock()
	f.tokens++
	f.token = fmt.Sprintf("tok%d", f.tokens) // each new token invalidates the previous one
	tok := f.token
	f.mu.Unlock()
	var exp any = "3599"
	if f.opts.ExpiresInNumber {
		exp = 3599
	}
	writeJSON(w, 200, map[string]any{"access_token": tok, "expires_in": exp})
}

// gate applies injected faults and the bearer check; false means answered.
func (f *Fake) gate(w http.ResponseWriter, r *http.Request) bool {
	f.mu.Lock()
	var ft *fault
	if f.down != nil {
		x := *f.down
		ft = &x
	} else if len(f.faults) > 0 {
		x := f.faults[0]
		f.faults = f.faults[1:]
		ft = &x
	}
	tok := f.token
	f.mu.Unlock()
	if ft != nil && ft.hang > 0 {
		select {
		case <-time.After(ft.hang):
		case <-r.Context().Done():
			return false
		}
	} else if ft != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ft.status)
		w.Write([]byte(ft.body))
		return false
	}
	if r.Header.Get("Authorization") != "Bearer "+tok || tok == "" {
		writeJSON(w, 404, map[string]string{"requestId": "x", "errorCode": "404.001.03", "errorMessage": "Invalid Access Token"})
		return false
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeJSON(w, 400, map[string]string{"errorCode": "400.002.02", "errorMessage": "Bad Request - Invalid BusinessShortCode"})
		return false
	}
	return true
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

func (f *Fake) checkPassword(body map[string]any) bool {
	raw, err := base64.StdEncoding.DecodeString(str(body["Password"]))
	return err == nil && string(raw) == str(body["BusinessShortCode"])+f.opts.Passkey+str(body["Timestamp"]) && len(str(body["Timestamp"])) == 14
}

func bad(w http.ResponseWriter, msg string) {
	writeJSON(w, 400, map[string]string{"requestId": "x", "errorCode": "400.002.02", "errorMessage": "Bad Request - " + msg})
}

// answerLater holds the answer for AnswerDelay; false means the caller
// went away meanwhile.
func (f *Fake) answerLater(r *http.Request) bool {
	if f.opts.AnswerDelay <= 0 {
		return true
	}
	select {
	case <-time.After(f.opts.AnswerDelay):
		return true
	case <-r.Context().Done():
		return false
	}
}

func (f *Fake) push(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	if !f.gate(w, r) {
		return
	}
	var body map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10)).Decode(&body); err != nil {
		bad(w, "Invalid JSON")
		return
	}
	phone, amount, ref := str(body["PhoneNumber"]), str(body["Amount"]), str(body["AccountReference"])
	switch {
	case !f.checkPassword(body):
		writeJSON(w, 500, map[string]string{"requestId": "x", "errorCode": "500.001.1001", "errorMessage": "Wrong credentials"})
		return
	case len(phone) != 12 || !strings.HasPrefix(phone, "254") || str(body["PartyA"]) != phone:
		bad(w, "Invalid PhoneNumber")
		return
	case amount == "" || amount == "0" || strings.Contains(amount, "."):
		bad(w, "Invalid Amount")
		return
	case len(ref) == 0 || len(ref) > 12:
		bad(w, "Invalid AccountReference")
		return
	case len(str(body["TransactionDesc"])) > 13:
		bad(w, "Invalid TransactionDesc")
		return
	case !strings.HasPrefix(str(body["CallBackURL"]), "http"):
		bad(w, "Invalid CallBackURL")
		return
	case str(body["TransactionType"]) != "CustomerPayBillOnline":
		bad(w, "Invalid TransactionType")
		return
	}
	out := OutcomeFor(phone)
	f.mu.Lock()
	f.seq++
	checkout := fmt.Sprintf("ws_CO_%d%06d", time.Now().Unix(), f.seq)
	merchant := fmt.Sprintf("%d-%d-1", 29115+f.seq, 34620561+f.seq)
	f.pushes = append(f.pushes, Push{Body: body, At: arrived, Checkout: checkout})
	interactive := f.holdsPrompt(phone)
	f.mu.Unlock()
	if !f.answerLater(r) {
		return
	}
	if interactive {
		// A person holds the phone: the prompt waits for their answer.
		f.mu.Lock()
		f.waitFor(checkout, merchant, phone, amount, ref, str(body["BusinessShortCode"]), str(body["CallBackURL"]))
		f.mu.Unlock()
		writeJSON(w, 200, map[string]string{"MerchantRequestID": merchant, "CheckoutRequestID": checkout, "ResponseCode": "0",
			"ResponseDescription": "Success. Request accepted for processing", "CustomerMessage": "Success. Request accepted for processing"})
		return
	}
	if !out.PushError {
		// Decided (and called back) CallbackDelay after the answer, as the
		// customer sees the prompt only once Daraja has taken it.
		f.mu.Lock()
		d := decided{outcome: out, amount: amount, phone: phone, account: ref, receipt: f.newReceipt(), at: time.Now(), ready: time.Now().Add(f.opts.CallbackDelay)}
		f.results[checkout] = d
		if out.Code == "0" && !out.Undecided {
			amt, _ := strconv.ParseInt(amount, 10, 64)
			f.txns = append(f.txns, Transaction{ID: d.receipt, At: d.ready, MSISDN: phone, Account: ref, Amount: amt, Type: "c2b-pay-bill-debit"})
		}
		f.mu.Unlock()
	}
	if out.PushError {
		writeJSON(w, 200, map[string]string{"MerchantRequestID": merchant, "CheckoutRequestID": "", "ResponseCode": "1025",
			"ResponseDescription": "Unable to send the prompt", "CustomerMessage": "Unable to send the prompt"})
		return
	}
	writeJSON(w, 200, map[string]string{"MerchantRequestID": merchant, "CheckoutRequestID": checkout, "ResponseCode": "0",
		"ResponseDescription": "Success. Request accepted for processing", "CustomerMessage": "Success. Request accepted for processing"})
	if !out.NoCallback && !out.Undecided {
		go f.sendCallback(str(body["CallBackURL"]), merchant, checkout)
	}
}

// CallbackBody builds the Body.stkCallback JSON Daraja would send, with
// a receipt number made from at.
func CallbackBody(merchant, checkout string, out Outcome, amount, phone string, at time.Time) []byte {
	return CallbackBodyWith(merchant, checkout, out, amount, phone, fmt.Sprintf("SIM%07d", at.UnixNano()%10000000), at)
}

// CallbackBodyWith is CallbackBody with the M-Pesa receipt given.
func CallbackBodyWith(merchant, checkout string, out Outcome, amount, phone, receipt string, at time.Time) []byte {
	cb := map[string]any{"MerchantRequestID": merchant, "CheckoutRequestID": checkout, "ResultDesc": out.Desc}
	code, _ := strconv.Atoi(out.Code)
	cb["ResultCode"] = code
	if out.Code == "0" {
		amt, _ := strconv.ParseFloat(amount, 64)
		ph, _ := strconv.ParseInt(phone, 10, 64)
		cb["CallbackMetadata"] = map[string]any{"Item": []map[string]any{
			{"Name": "Amount", "Value": amt},
			{"Name": "MpesaReceiptNumber", "Value": receipt},
			{"Name": "Balance"},
			{"Name": "TransactionDate", "Value": json.Number(at.In(time.FixedZone("EAT", 3*3600)).Format("20060102150405"))},
			{"Name": "PhoneNumber", "Value": ph},
		}}
	}
	b, _ := json.Marshal(map[string]any{"Body": map[string]any{"stkCallback": cb}})
	return b
}

func (f *Fake) sendCallback(url, merchant, checkout string) {
	f.mu.Lock()
	d := f.results[checkout]
	f.mu.Unlock()
	time.Sleep(time.Until(d.ready))
	body := CallbackBodyWith(merchant, checkout, d.outcome, d.amount, d.phone, d.receipt, time.Now())
	// Daraja retries a callback that fails; so does the fake, a few times.
	for try := 0; try < 5; try++ {
		resp, err := f.client.Post(url, "application/json", bytes.NewReader(body))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return
			}
		}
		f.opts.Log.Info("darajafake: callback not accepted; retrying", "try", try+1)
		time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
	}
}

func (f *Fake) query(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.queries++
	f.mu.Unlock()
	if !f.gate(w, r) {
		return
	}
	var body map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10)).Decode(&body); err != nil || !f.checkPassword(body) {
		bad(w, "Invalid request")
		return
	}
	checkout := str(body["CheckoutRequestID"])
	f.mu.Lock()
	d, ok := f.results[checkout]
	f.mu.Unlock()
	if !f.answerLater(r) {
		return
	}
	switch {
	case !ok:
		bad(w, "Invalid CheckoutRequestID")
	case d.outcome.Undecided || time.Now().Before(d.ready):
		writeJSON(w, 500, map[string]string{"requestId": checkout, "errorCode": "500.001.1001", "errorMessage": "The transaction is being processed"})
	default:
		writeJSON(w, 200, map[string]string{"ResponseCode": "0", "ResponseDescription": "The service request has been accepted successsfully",
			"MerchantRequestID": "q", "CheckoutRequestID": checkout, "ResultCode": d.outcome.Code, "ResultDesc": d.outcome.Desc})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
