// Package atfake is an Africa's Talking messaging endpoint served over real
// HTTP on loopback, speaking AT's bulk SMS wire format: form
// POST with an apiKey header, 201 with SMSMessageData.Recipients. Tests
// inject faults (500s, 429 with Retry-After, recipient failures); the
// official Node SDK is run against it to prove the format.
package atfake

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/huduma-ke/huduma"
)

// Sent is one request the fake accepted.
type Sent struct {
	Username, To, Message, From, BulkSMSMode, Enqueue string
	APIKey, ContentType, Accept                       string
	MessageIDs                                        []string
	At                                                time.Time
}

// Fake is a running AT messaging endpoint.
type Fake struct {
	apiKey string
	srv    *http.Server
	ln     net.Listener

	mu        sync.Mutex
	sent      []Sent
	requests  int
	fails     []int
	throttles []string
	recipient int
	seq       int
}

// Start serves the fake on a loopback port, accepting apiKey.
func Start(apiKey string) (*Fake, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("atfake listen: %w", err)
	}
	f := &Fake{apiKey: apiKey, ln: ln, recipient: 101}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /version1/messaging", f.send)
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go f.srv.Serve(ln)
	return f, nil
}

// SMSURL is the messaging endpoint (AT_SMS_URL).
func (f *Fake) SMSURL() string { return "http://" + f.ln.Addr().String() + "/version1/messaging" }

// Close stops the fake.
func (f *Fake) Close() error { return f.srv.Close() }

// Sent returns the accepted messages.
func (f *Fake) Sent() []Sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Sent(nil), f.sent...)
}

// SentCount is len(Sent()) without the copy.
func (f *Fake) SentCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

// Requests counts every request, failed ones included.
func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// FailNext answers the next n requests with HTTP status.
func (f *Fake) FailNext(n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < n; i++ {
		f.fails = append(f.fails, status)
	}
}

// Heal drops the faults still queued: the next request succeeds.
func (f *Fake) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails, f.throttles = nil, nil
}

// Throttle answers the next request 429 with this Retry-After.
func (f *Fake) Throttle(retryAfter string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttles = append(f.throttles, retryAfter)
}

// RecipientStatus sets the per-recipient statusCode of later answers.
func (f *Fake) RecipientStatus(code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recipient = code
}

var statusWords = map[int]string{100: "Processed", 101: "Success", 102: "Queued", 403: "InvalidPhoneNumber", 406: "UserInBlacklist", 500: "InternalServerError"}

func (f *Fake) send(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	var fail int
	var throttle *string
	if len(f.throttles) > 0 {
		t := f.throttles[0]
		f.throttles, throttle = f.throttles[1:], &t
	} else if len(f.fails) > 0 {
		fail, f.fails = f.fails[0], f.fails[1:]
	}
	code := f.recipient
	f.mu.Unlock()
	switch {
	case throttle != nil:
		w.Header().Set("Retry-After", *throttle)
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		return
	case fail != 0:
		http.Error(w, "Internal Server Error", fail)
		return
	}
	if r.Header.Get("apiKey") != f.apiKey {
		http.Error(w, "The supplied authentication is invalid", http.StatusUnauthorized)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("username") == "" || r.PostForm.Get("to") == "" || r.PostForm.Get("message") == "" {
		http.Error(w, "Request is missing required form field", http.StatusBadRequest)
		return
	}
	s := Sent{Username: r.PostForm.Get("username"), To: r.PostForm.Get("to"), Message: r.PostForm.Get("message"), From: r.PostForm.Get("from"),
		BulkSMSMode: r.PostForm.Get("bulkSMSMode"), Enqueue: r.PostForm.Get("enqueue"), APIKey: r.Header.Get("apiKey"),
		ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"), At: time.Now()}
	type recipient struct {
		StatusCode int    `json:"statusCode"`
		Number     string `json:"number"`
		Status     string `json:"status"`
		Cost       string `json:"cost"`
		MessageID  string `json:"messageId"`
	}
	var recips []recipient
	ok := 0
	f.mu.Lock()
	for _, to := range strings.Split(s.To, ",") {
		rc := code
		if _, err := huduma.ParseMSISDN(to); err != nil {
			rc = 403
		}
		f.seq++
		id := "ATXid_" + strconv.Itoa(f.seq)
		if rc >= 100 && rc <= 102 {
			ok++
			s.MessageIDs = append(s.MessageIDs, id)
		} else {
			id = "None"
		}
		word := statusWords[rc]
		if word == "" {
			word = "Failed"
		}
		recips = append(recips, recipient{StatusCode: rc, Number: to, Status: word, Cost: "KES 0.8000", MessageID: id})
	}
	if ok > 0 {
		f.sent = append(f.sent, s)
	}
	f.mu.Unlock()
	// application/json without a charset: the Python SDK parses only that.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"SMSMessageData": map[string]any{
		"Message": fmt.Sprintf("Sent to %d/%d Total Cost: KES %.4f", ok, len(recips), 0.8*float64(ok)), "Recipients": recips}})
}

// DeliveryReportForm is a delivery report as AT posts it.
func DeliveryReportForm(id, status, phone, failureReason string) url.Values {
	v := url.Values{"id": {id}, "status": {status}, "phoneNumber": {phone}, "networkCode": {"63902"}, "retryCount": {"0"}}
	if failureReason != "" {
		v.Set("failureReason", failureReason)
	}
	return v
}

// IncomingSMSForm is an incoming message as AT posts it.
func IncomingSMSForm(id, from, to, text string) url.Values {
	return url.Values{"id": {id}, "from": {from}, "to": {to}, "text": {text}, "linkId": {""},
		"date": {time.Now().UTC().Format("2006-01-02T15:04:05.000Z")}, "networkCode": {"63902"}}
}
