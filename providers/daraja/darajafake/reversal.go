package darajafake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Reversal is a reversal request as the fake received it.
type Reversal struct {
	Body                     map[string]any
	At                       time.Time
	ConversationID           string
	OriginatorConversationID string
}

// Refusal is how the fake fails the reversal of one transaction.
type Refusal struct {
	// Code and Desc are the result's ResultCode and ResultDesc.
	Code, Desc string
	// Timeout posts the result to QueueTimeOutURL (it timed out in the
	// queue) instead of ResultURL.
	Timeout bool
	// Refuse answers the request itself with an error body (HTTP 400):
	// nothing is queued.
	Refuse bool
}

// RefuseReversal makes the reversal of transID fail as r says.
func (f *Fake) RefuseReversal(transID string, r Refusal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refusals[transID] = r
}

// Reversals returns the reversal requests received so far.
func (f *Fake) Reversals() []Reversal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Reversal(nil), f.reversals...)
}

// reversal serves POST /mpesa/reversal/v1/request, as Daraja does:
// the answer only accepts the request; the outcome is posted to ResultURL
// CallbackDelay later. The fake's own failure codes: R000002 for a
// transaction it does not know, R000001 for one already reversed, and
// 2001 for a wrong initiator or credential.
func (f *Fake) reversal(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	body, ok := f.decode(w, r)
	if !ok {
		return
	}
	trans, amount := str(body["TransactionID"]), str(body["Amount"])
	switch {
	case str(body["CommandID"]) != "TransactionReversal":
		bad(w, "Invalid CommandID")
		return
	case trans == "" || str(body["Initiator"]) == "" || str(body["SecurityCredential"]) == "":
		bad(w, "Invalid Initiator, SecurityCredential or TransactionID")
		return
	case amount == "" || strings.Contains(amount, "."):
		bad(w, "Invalid Amount")
		return
	case str(body["ReceiverParty"]) == "" || str(body["RecieverIdentifierType"]) != "11":
		bad(w, "Invalid ReceiverParty or RecieverIdentifierType")
		return
	case !strings.HasPrefix(str(body["ResultURL"]), "http") || !strings.HasPrefix(str(body["QueueTimeOutURL"]), "http"):
		bad(w, "Invalid ResultURL or QueueTimeOutURL")
		return
	case len(str(body["Remarks"])) < 2 || len(str(body["Remarks"])) > 100:
		bad(w, "Invalid Remarks")
		return
	}
	f.mu.Lock()
	refusal, refused := f.refusals[trans]
	if refused && refusal.Refuse {
		f.mu.Unlock()
		writeJSON(w, 400, map[string]string{"requestId": "x", "errorCode": "400.002.02", "errorMessage": "Bad Request - " + refusal.Desc})
		return
	}
	f.seq++
	rv := Reversal{Body: body, At: arrived, ConversationID: fmt.Sprintf("AG_%d_%06d", arrived.Unix(), f.seq),
		OriginatorConversationID: fmt.Sprintf("%d-%d-1", 10571+f.seq, 7910404+f.seq)}
	f.reversals = append(f.reversals, rv)
	f.mu.Unlock()
	writeJSON(w, 200, map[string]string{"OriginatorConversationID": rv.OriginatorConversationID, "ConversationID": rv.ConversationID,
		"ResponseCode": "0", "ResponseDescription": "Accept the service request successfully."})
	go f.reversalResult(rv, trans, amount, refusal, refused)
}

// reversalResult decides a reversal and posts its result.
func (f *Fake) reversalResult(rv Reversal, trans, amount string, refusal Refusal, refused bool) {
	time.Sleep(f.opts.CallbackDelay)
	amt, _ := strconv.ParseInt(amount, 10, 64)
	code, desc := "0", "The service request is processed successfully."
	url := str(rv.Body["ResultURL"])
	f.mu.Lock()
	var orig *Transaction
	for i := range f.txns {
		if f.txns[i].ID == trans && strings.HasPrefix(f.txns[i].Type, "c2b") {
			orig = &f.txns[i]
		}
	}
	switch {
	case refused:
		code, desc = refusal.Code, refusal.Desc
		if refusal.Timeout {
			url = str(rv.Body["QueueTimeOutURL"])
		}
	case f.opts.Initiator != "" && str(rv.Body["Initiator"]) != f.opts.Initiator,
		f.opts.SecurityCredential != "" && str(rv.Body["SecurityCredential"]) != f.opts.SecurityCredential:
		code, desc = "2001", "The initiator information is invalid."
	case orig == nil || amt > orig.Amount:
		code, desc = "R000002", "The OriginalTransactionID is invalid."
	case f.reversed[trans]:
		code, desc = "R000001", "The transaction has already been reversed."
	}
	reversalID := f.newReceipt()
	if code == "0" {
		f.reversed[trans] = true
		f.txns = append(f.txns, Transaction{ID: reversalID, At: time.Now(), MSISDN: orig.MSISDN, Account: orig.Account, Amount: amt, Type: "reversal"})
	}
	f.mu.Unlock()
	n, _ := strconv.Atoi(code)
	var rc any = code
	if strconv.Itoa(n) == code {
		rc = n // a number, as results carry it
	}
	result := map[string]any{"ResultType": 0, "ResultCode": rc, "ResultDesc": desc, "OriginatorConversationID": rv.OriginatorConversationID,
		"ConversationID": rv.ConversationID, "TransactionID": reversalID,
		"ResultParameters": map[string]any{"ResultParameter": []map[string]any{{"Key": "Amount", "Value": amt}, {"Key": "OriginalTransactionID", "Value": trans}}},
		"ReferenceData":    map[string]any{"ReferenceItem": map[string]any{"Key": "QueueTimeoutURL", "Value": str(rv.Body["QueueTimeOutURL"])}}}
	b, _ := json.Marshal(map[string]any{"Result": result})
	for try := 0; try < 5; try++ {
		resp, err := f.client.Post(url, "application/json", bytes.NewReader(b))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return
			}
		}
		time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
	}
}
