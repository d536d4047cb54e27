package daraja_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/providers"
	"github.com/huduma-ke/huduma/providers/daraja"
	"github.com/huduma-ke/huduma/providers/daraja/darajafake"
)

// TestReversalWire: the request carries what Daraja documents (its
// sic spelling included); the results decode; errors say whether the
// request may be sent again.
func TestReversalWire(t *testing.T) {
	results := make(chan []byte, 4)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		results <- append([]byte(r.URL.Path+" "), b...)
	}))
	defer cb.Close()
	opts := darajafake.Options{ConsumerKey: "key", ConsumerSecret: "secret", Passkey: passkey, Initiator: "apiop", SecurityCredential: "c3VwZXJzZWNyZXQ=",
		CallbackDelay: 10 * time.Millisecond}
	f, err := darajafake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	client := func(initiator, cred string) *daraja.Client {
		return daraja.New(daraja.Config{BaseURL: f.URL(), ConsumerKey: "key", ConsumerSecret: "secret", Passkey: passkey, ShortCode: "174379",
			Initiator: initiator, SecurityCredential: cred, ReversalResultURL: cb.URL + "/result?token=t", ReversalTimeoutURL: cb.URL + "/timeout?token=t",
			Timeout: 500 * time.Millisecond, Backoff: time.Millisecond}, &http.Client{}, slog.New(slog.DiscardHandler))
	}
	c := client("apiop", "c3VwZXJzZWNyZXQ=")
	ctx := context.Background()
	f.AddTransaction(darajafake.Transaction{ID: "PAID000001", Amount: 700, Account: "x"})
	acc, err := c.Reverse(ctx, huduma.ReversalRequest{TransID: "PAID000001", Amount: 700, Remarks: "wrong account", Occasion: "refund 1"})
	if err != nil || acc.ConversationID == "" || acc.OriginatorConversationID == "" {
		t.Fatalf("reverse: %+v %v", acc, err)
	}
	b := f.Reversals()[0].Body
	for k, v := range map[string]any{"CommandID": "TransactionReversal", "TransactionID": "PAID000001", "Amount": float64(700), "ReceiverParty": "174379",
		"RecieverIdentifierType": "11", "Initiator": "apiop", "SecurityCredential": "c3VwZXJzZWNyZXQ=", "Remarks": "wrong account", "Occasion": "refund 1",
		"ResultURL": cb.URL + "/result?token=t", "QueueTimeOutURL": cb.URL + "/timeout?token=t"} {
		if b[k] != v {
			t.Errorf("%s = %v, want %v", k, b[k], v)
		}
	}
	got := <-results
	path, body, _ := strings.Cut(string(got), " ")
	res, err := daraja.DecodeReversalResult([]byte(body))
	if err != nil || path != "/result" || res.ResultCode != "0" || res.OriginatorConversationID != acc.OriginatorConversationID ||
		res.ConversationID != acc.ConversationID || res.OriginalTransID != "PAID000001" {
		t.Fatalf("result %s %+v %v", path, res, err)
	}
	// A second reversal of it fails (already reversed), in its result.
	c.Reverse(ctx, huduma.ReversalRequest{TransID: "PAID000001", Amount: 700})
	if res, _ := daraja.DecodeReversalResult([]byte(strings.SplitN(string(<-results), " ", 2)[1])); res.ResultCode != "R000001" {
		t.Fatalf("reversed twice: %+v", res)
	}
	// A queue timeout goes to the other URL.
	f.AddTransaction(darajafake.Transaction{ID: "PAID000002", Amount: 5})
	f.RefuseReversal("PAID000002", darajafake.Refusal{Code: "1", Desc: "timed out", Timeout: true})
	c.Reverse(ctx, huduma.ReversalRequest{TransID: "PAID000002", Amount: 5})
	if path, _, _ := strings.Cut(string(<-results), " "); path != "/timeout" {
		t.Fatalf("timeout result on %s", path)
	}
	// Errors: not configured; refused (not sent again, but a refusal);
	// throttled (never processed: may be sent again); a hang (may have
	// been processed: never sent again).
	if _, err := client("", "").Reverse(ctx, huduma.ReversalRequest{TransID: "A", Amount: 1}); !errors.Is(err, daraja.ErrNoInitiator) {
		t.Fatalf("no initiator: %v", err)
	}
	f.RefuseReversal("PAID000003", darajafake.Refusal{Refuse: true, Desc: "Invalid TransactionID"})
	if _, err := c.Reverse(ctx, huduma.ReversalRequest{TransID: "PAID000003", Amount: 1}); err == nil || errors.Is(err, providers.ErrNotSent) || errors.Is(err, providers.ErrOutage) {
		t.Fatalf("refused: %v", err)
	}
	f.Fail(1, 500, `{"requestId":"x","errorCode":"500.003.02","errorMessage":"Spike Arrest Violation"}`)
	if _, err := c.Reverse(ctx, huduma.ReversalRequest{TransID: "PAID000001", Amount: 1}); !errors.Is(err, providers.ErrNotSent) {
		t.Fatalf("throttled: %v", err)
	}
	f.Hang(time.Second)
	before := len(f.Reversals())
	_, err = c.Reverse(ctx, huduma.ReversalRequest{TransID: "PAID000001", Amount: 1})
	if !errors.Is(err, providers.ErrOutage) || errors.Is(err, providers.ErrNotSent) || strings.Contains(err.Error(), "c3VwZXJzZWNyZXQ=") {
		t.Fatalf("hang: %v", err)
	}
	time.Sleep(600 * time.Millisecond)
	if n := len(f.Reversals()) - before; n > 1 {
		t.Fatalf("a timed-out reversal was sent %d times", n)
	}
	for _, bad := range []string{`{}`, `{"Result":{"ResultCode":0}}`, `not json`, `{"Result":{"ConversationID":"AG_1"}}`} {
		if _, err := daraja.DecodeReversalResult([]byte(bad)); err == nil {
			t.Errorf("decoded %s", bad)
		}
	}
	if res, err := daraja.DecodeReversalResult([]byte(`{"Result":{"ResultType":0,"ResultCode":"2001","ResultDesc":"The initiator information is invalid.",
		"ConversationID":"AG_2","ResultParameters":{"ResultParameter":{"Key":"OriginalTransactionID","Value":"T9"}}}}`)); err != nil ||
		res.ResultCode != "2001" || res.OriginalTransID != "T9" {
		t.Fatalf("string code, single parameter: %+v %v", res, err)
	}
}
