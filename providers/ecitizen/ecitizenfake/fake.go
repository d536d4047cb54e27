// Package ecitizenfake is an e-Citizen PaymentAPI look-alike served over
// real HTTP on loopback: the checkout (form or JSON body) creates a bill
// and answers its number and link, a checkout that asks for sendSTK
// "sends" the payment prompt, whose outcome the phone's last two digits
// choose with darajafake's table, and a paid prompt is followed by a
// signed payment notification posted to the bill's notificationURL.
// Test controls pay a bill from any channel by hand, in parts or over,
// repeat a notification, forge one, or notify a bill never issued.
//
// Like providers/ecitizen it follows what integrators describe, not an
// official document; where the fake has to choose (status codes of a
// refusal, what a repeated checkout does, the notification retries) the
// choice is marked as assumed here and in docs/ecitizen.md.
package ecitizenfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
)

// CheckoutPath is where the fake serves the checkout, as e-Citizen does.
const CheckoutPath = "/PaymentAPI/iframev2.1.php"

// Options configure the fake.
type Options struct {
	// ClientID, APIKey and Secret are the credentials it accepts and
	// signs notifications with.
	ClientID, APIKey, Secret string
	// HexHash writes and expects hashes as base64 of the lowercase hex
	// digest instead of base64 of the digest.
	HexHash bool
	// PromptDelay is how long after a checkout a paid prompt's
	// notification is posted.
	PromptDelay time.Duration
	// Retries is how many times a notification our side did not answer
	// 200 is posted again (default 5; negative: never). The wait before
	// retry n is n times RetryDelay (default 200 ms). e-Citizen's own
	// schedule is not published: this is assumed.
	Retries    int
	RetryDelay time.Duration
	// NotifyForm posts notifications as forms instead of JSON.
	NotifyForm bool
	// Interactive makes a prompt to a phone a person holds (Hold) wait
	// for that person's answer (Answer), for up to PromptTimeout
	// (default DefaultPromptTimeout).
	Interactive   bool
	PromptTimeout time.Duration
	Log           *slog.Logger
}

// Bill is a bill as the fake holds it.
type Bill struct {
	// Number is e-Citizen's invoice number; Link its page.
	Number, Link string
	// Ref is the caller's billRefNumber.
	Ref       string
	ServiceID string
	Amount    int64
	// Phone is clientMSISDN as sent.
	Phone, Name, IDNumber, Description string
	NotificationURL                    string
	// Paid is what all payments so far brought; Payments are they,
	// oldest first.
	Paid     int64
	Payments []Payment
	// Checkouts counts the checkouts that named Ref (1 + repeats).
	Checkouts int
	// JSON reports whether the first checkout was posted as JSON.
	JSON bool
	// Fields are the first checkout's fields as received.
	Fields map[string]string
}

// Push is a payment prompt the fake was asked to send.
type Push struct {
	BillNumber, Phone string
	// Sent is false when the number cannot get an M-Pesa prompt (not a
	// Safaricom number): nothing is sent, as assumed of e-Citizen.
	Sent    bool
	Outcome darajafake.Outcome
	At      time.Time
}

// Fake is a running fake e-Citizen.
type Fake struct {
	opts   Options
	srv    *http.Server
	ln     net.Listener
	client *http.Client
	done   chan struct{}
	wg     sync.WaitGroup

	mu         sync.Mutex
	bills      map[string]*Bill // by number
	order      []string         // numbers, oldest first
	byRef      map[string]string
	pushes     []Push
	deliveries []Delivery
	faults     []fault
	refs       int64
	// held, waiting, decided and prompts are the interactive prompts
	// (phone.go).
	held    map[string]time.Time
	waiting map[string]*Prompt
	decided map[string]bool
	prompts int
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
	if opts.Retries == 0 {
		opts.Retries = 5
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = 200 * time.Millisecond
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("ecitizenfake listen: %w", err)
	}
	f := &Fake{opts: opts, ln: ln, client: &http.Client{Timeout: 5 * time.Second}, done: make(chan struct{}),
		bills: map[string]*Bill{}, byRef: map[string]string{}, refs: time.Now().Unix() % 10_000_000}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+CheckoutPath, f.checkout)
	mux.HandleFunc("GET /PaymentAPI/invoice/{number}", f.invoicePage)
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go f.srv.Serve(ln)
	return f, nil
}

// URL is the checkout URL (what ECITIZEN_URL is set to).
func (f *Fake) URL() string { return "http://" + f.ln.Addr().String() + CheckoutPath }

// Close stops the fake and waits for notifications under way.
func (f *Fake) Close() error {
	close(f.done)
	err := f.srv.Close()
	f.wg.Wait()
	return err
}

// Bills returns the bills issued so far, oldest first.
func (f *Fake) Bills() []Bill {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Bill, 0, len(f.order))
	for _, num := range f.order {
		out = append(out, f.bills[num].clone())
	}
	return out
}

// Bill returns the bill with this number or billRefNumber.
func (f *Fake) Bill(numberOrRef string) (Bill, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.find(numberOrRef)
	if b == nil {
		return Bill{}, false
	}
	return b.clone(), true
}

// clone is a copy that shares nothing the fake changes later.
func (b *Bill) clone() Bill {
	c := *b
	c.Payments = append([]Payment(nil), b.Payments...)
	return c
}

// find looks a bill up by number or ref; f.mu held.
func (f *Fake) find(numberOrRef string) *Bill {
	if b, ok := f.bills[numberOrRef]; ok {
		return b
	}
	return f.bills[f.byRef[numberOrRef]]
}

// Pushes returns the prompts asked for so far.
func (f *Fake) Pushes() []Push {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Push(nil), f.pushes...)
}

// Fail makes the next n checkouts answer status with body.
func (f *Fake) Fail(n, status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < n; i++ {
		f.faults = append(f.faults, fault{status: status, body: body})
	}
}

// Hang makes the next checkout wait d before it is handled (timeouts).
// The bill is still created if the caller is gone by then, as a slow
// server would.
func (f *Fake) Hang(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, fault{hang: d})
}

// sign is e-Citizen's HMAC, written independently of providers/ecitizen
// so the two check each other.
func (f *Fake) sign(key string, parts ...string) string {
	m := hmac.New(sha256.New, []byte(key))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	sum := m.Sum(nil)
	if f.opts.HexHash {
		return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(sum)))
	}
	return base64.StdEncoding.EncodeToString(sum)
}

var (
	// amountRE takes whole shillings only: e-Citizen would take cents,
	// but Huduma never bills them, so one sent is a bug to catch.
	amountRE = regexp.MustCompile(`^[1-9][0-9]{0,8}\.00$`)
	msisdnRE = regexp.MustCompile(`^254[17][0-9]{8}$`)
)

// readCheckout reads a form or JSON body into text fields.
func readCheckout(r *http.Request) (map[string]string, bool, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 16<<10)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var obj map[string]any
		if err := json.NewDecoder(r.Body).Decode(&obj); err != nil {
			return nil, true, err
		}
		out := map[string]string{}
		for k, v := range obj {
			switch x := v.(type) {
			case string:
				out[k] = x
			case bool:
				out[k] = strconv.FormatBool(x)
			case float64:
				out[k] = strconv.FormatFloat(x, 'f', -1, 64)
			case nil:
				out[k] = ""
			default:
				return nil, true, fmt.Errorf("field %s is not a value", k)
			}
		}
		return out, true, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, false, err
	}
	out := map[string]string{}
	for k, v := range r.PostForm {
		out[k] = v[0]
	}
	return out, false, nil
}

// echo writes the fields the way e-Citizen's refusals have been seen to:
// the whole request, hash and personal data included, so callers must
// not store an answer as it comes.
func echo(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q => %q", k, fields[k])
	}
	return "%{" + strings.Join(parts, ", ") + "}"
}

func (f *Fake) gate(w http.ResponseWriter, r *http.Request) bool {
	f.mu.Lock()
	var ft *fault
	if len(f.faults) > 0 {
		x := f.faults[0]
		f.faults = f.faults[1:]
		ft = &x
	}
	f.mu.Unlock()
	switch {
	case ft == nil:
		return true
	case ft.hang > 0:
		select {
		case <-time.After(ft.hang):
		case <-f.done:
		}
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ft.status)
	w.Write([]byte(ft.body))
	return false
}

// checkout serves the checkout. Assumed: a wrong apiClientID or
// secureHash is answered 403, missing or malformed fields 422 (the one
// refusal seen from the live platform), both echoing the request; the
// same billRefNumber again returns the same bill, and with another
// amount is refused 422.
func (f *Fake) checkout(w http.ResponseWriter, r *http.Request) {
	if !f.gate(w, r) {
		return
	}
	in, isJSON, err := readCheckout(r)
	if err != nil {
		writeJSON(w, 400, map[string]string{"error": "could not read the request"})
		return
	}
	refuse := func(status int, why string) {
		writeJSON(w, status, map[string]string{"error": why + " " + echo(in)})
	}
	for _, k := range []string{"apiClientID", "serviceID", "billDesc", "currency", "billRefNumber", "clientName", "clientIDNumber", "amountExpected", "secureHash"} {
		if strings.TrimSpace(in[k]) == "" {
			refuse(422, "invalid params on parsing")
			return
		}
	}
	want := f.sign(f.opts.APIKey, in["apiClientID"], in["amountExpected"], in["serviceID"], in["clientIDNumber"], in["currency"],
		in["billRefNumber"], in["billDesc"], in["clientName"], f.opts.Secret)
	switch {
	case in["apiClientID"] != f.opts.ClientID || !hmac.Equal([]byte(in["secureHash"]), []byte(want)):
		refuse(403, "invalid secure hash for")
		return
	case !amountRE.MatchString(in["amountExpected"]) || in["currency"] != "KES":
		refuse(422, "invalid params on parsing")
		return
	case in["clientMSISDN"] != "" && !msisdnRE.MatchString(in["clientMSISDN"]):
		refuse(422, "invalid params on parsing")
		return
	case !strings.HasPrefix(in["notificationURL"], "http"):
		refuse(422, "invalid params on parsing")
		return
	}
	amount, _ := strconv.ParseInt(strings.TrimSuffix(in["amountExpected"], ".00"), 10, 64)
	b, ok := f.bill(in, amount, isJSON)
	if !ok {
		refuse(422, "billRefNumber already used for another bill")
		return
	}
	if truthy(in["sendSTK"]) {
		f.prompt(b)
	}
	if in["format"] != "json" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html><body><h1>Pay KES %d</h1><p>Bill %s</p></body></html>", b.Amount, html.EscapeString(b.Number))
		return
	}
	writeJSON(w, 200, map[string]any{"invoice_number": b.Number, "invoice_link": b.Link, "amount_expected": in["amountExpected"],
		"currency": "KES", "client_invoice_ref": b.Ref})
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true
	}
	return false
}

// bill returns the bill for the checkout's billRefNumber, creating it the
// first time; false when the ref names a bill for another amount or
// service.
func (f *Fake) bill(in map[string]string, amount int64, isJSON bool) (Bill, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b := f.bills[f.byRef[in["billRefNumber"]]]; b != nil {
		if b.Amount != amount || b.ServiceID != in["serviceID"] {
			return Bill{}, false
		}
		b.Checkouts++
		return b.clone(), true
	}
	num := f.newNumber()
	fields := make(map[string]string, len(in))
	for k, v := range in {
		fields[k] = v
	}
	b := &Bill{Number: num, Link: "http://" + f.ln.Addr().String() + "/PaymentAPI/invoice/" + num, Ref: in["billRefNumber"],
		ServiceID: in["serviceID"], Amount: amount, Phone: in["clientMSISDN"], Name: in["clientName"], IDNumber: in["clientIDNumber"],
		Description: in["billDesc"], NotificationURL: in["notificationURL"], Checkouts: 1, JSON: isJSON, Fields: fields}
	f.bills[num] = b
	f.order = append(f.order, num)
	f.byRef[b.Ref] = num
	return b.clone(), true
}

// newNumber is a fresh bill number shaped like e-Citizen's (eight
// capital letters); f.mu held.
func (f *Fake) newNumber() string {
	for {
		b := make([]byte, 8)
		for i := range b {
			b[i] = byte('A' + rand.IntN(26))
		}
		if _, taken := f.bills[string(b)]; !taken {
			return string(b)
		}
	}
}

// prompt "sends" the payment prompt for a checkout that asked for one.
// Its outcome comes from darajafake's suffix table; a paid prompt pays
// what the bill still owes and is notified PromptDelay later. Assumed:
// e-Citizen sends prompts to Safaricom numbers only, and a repeated
// checkout with sendSTK prompts again.
func (f *Fake) prompt(b Bill) {
	push := Push{BillNumber: b.Number, Phone: b.Phone, At: time.Now()}
	m, err := huduma.ParseMSISDN(b.Phone)
	push.Sent = err == nil && m.Network() == huduma.Safaricom
	if push.Sent {
		push.Outcome = darajafake.OutcomeFor(b.Phone)
	}
	f.mu.Lock()
	f.pushes = append(f.pushes, push)
	if push.Sent && f.holds(b.Phone) {
		f.wait(b)
		f.mu.Unlock()
		return
	}
	f.mu.Unlock()
	o := push.Outcome
	if !push.Sent || o.PushError || o.Undecided || o.NoCallback || o.Code != "0" {
		return
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		select {
		case <-time.After(f.opts.PromptDelay):
		case <-f.done:
			return
		}
		f.mu.Lock()
		owed := b.Amount - f.bills[b.Number].Paid
		f.mu.Unlock()
		if owed > 0 {
			if _, err := f.PayBill(b.Number, owed, ChannelMpesa); err != nil {
				f.opts.Log.Warn("ecitizenfake: prompt payment", "error", err)
			}
		}
	}()
}

func (f *Fake) invoicePage(w http.ResponseWriter, r *http.Request) {
	b, ok := f.Bill(r.PathValue("number"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<html><body><h1>Bill %s</h1><p>KES %d, paid %d</p><p>%s</p></body></html>",
		html.EscapeString(b.Number), b.Amount, b.Paid, html.EscapeString(b.Description))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
