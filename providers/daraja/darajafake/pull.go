package darajafake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Transaction is one of the paybill's transactions, as Daraja's Pull
// Transactions API lists it.
type Transaction struct {
	ID string
	At time.Time
	// MSISDN is as the API gives it (digits, possibly masked).
	MSISDN string
	// Account is what the payer typed (billreference).
	Account string
	Amount  int64
	// Type is e.g. "c2b-pay-bill-debit" (a payment) or "reversal".
	Type string
}

// AddTransaction records a transaction the paybill received without
// telling anyone: a paybill payment whose confirmation was lost. Only the
// Pull Transactions API (and a statement) will show it.
func (f *Fake) AddTransaction(t Transaction) {
	if t.Type == "" {
		t.Type = "c2b-pay-bill-debit"
	}
	if t.At.IsZero() {
		t.At = time.Now()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.txns = append(f.txns, t)
}

// Transactions returns the paybill's transactions so far.
func (f *Fake) Transactions() []Transaction {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Transaction(nil), f.txns...)
}

// Pulls counts Pull Transactions queries answered.
func (f *Fake) Pulls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pulls
}

// newReceipt is a fresh receipt number: SIM and seven digits, 10
// characters like M-Pesa's, or SIMULATED and seven digits for the
// payment simulator (what the journey files recognise). They count up
// from the start time in seconds, so a simulator restarted on the same
// database does not reuse the last run's. Called with f.mu held.
func (f *Fake) newReceipt() string {
	f.receipts++
	prefix := "SIM"
	if f.opts.Simulator {
		prefix = SimulatedPrefix
	}
	return fmt.Sprintf("%s%07d", prefix, f.receipts%10_000_000)
}

func (f *Fake) decode(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	if !f.gate(w, r) {
		return nil, false
	}
	var body map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10)).Decode(&body); err != nil {
		bad(w, "Invalid JSON")
		return nil, false
	}
	return body, true
}

func (f *Fake) pullRegister(w http.ResponseWriter, r *http.Request) {
	body, ok := f.decode(w, r)
	if !ok {
		return
	}
	sc := str(body["ShortCode"])
	if sc == "" || str(body["RequestType"]) != "Pull" || len(str(body["NominatedNumber"])) != 12 || !strings.HasPrefix(str(body["CallBackURL"]), "http") {
		bad(w, "Invalid request")
		return
	}
	f.mu.Lock()
	status := "1000"
	if f.registered[sc] {
		status = "1001"
	}
	f.registered[sc] = true
	f.mu.Unlock()
	writeJSON(w, 200, map[string]string{"ResponseRefID": fmt.Sprintf("ref-%d", time.Now().UnixNano()), "Response Status": status,
		"ShortCode": sc, "Response Description": "ShortCode " + sc + " Registered Successfully"})
}

// pullDate reads the API's window ends, in Nairobi time; minutes-only
// forms are accepted as documented.
func pullDate(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, eat); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

var eat = time.FixedZone("EAT", 3*3600)

func (f *Fake) pullQuery(w http.ResponseWriter, r *http.Request) {
	body, ok := f.decode(w, r)
	if !ok {
		return
	}
	start, ok1 := pullDate(str(body["StartDate"]))
	end, ok2 := pullDate(str(body["EndDate"]))
	offset, err := strconv.Atoi(str(body["OffSetValue"]))
	switch {
	case str(body["ShortCode"]) == "":
		bad(w, "Invalid ShortCode")
		return
	case !ok1 || !ok2 || end.Before(start):
		bad(w, "Invalid StartDate or EndDate")
		return
	case end.Sub(start) > 48*time.Hour:
		bad(w, "The date range may not exceed 48 hours")
		return
	case err != nil || offset < 0:
		bad(w, "Invalid OffSetValue")
		return
	}
	f.mu.Lock()
	f.pulls++
	var in []Transaction
	for _, t := range f.txns {
		if !t.At.Before(start) && !t.At.After(end) && !t.At.After(time.Now()) {
			in = append(in, t)
		}
	}
	f.mu.Unlock()
	sort.SliceStable(in, func(i, j int) bool { return in[i].At.Before(in[j].At) })
	rows := []map[string]any{}
	for _, t := range in[min(offset, len(in)):min(offset+f.opts.PageSize, len(in))] {
		var msisdn any = t.MSISDN
		if n, err := strconv.ParseInt(t.MSISDN, 10, 64); err == nil {
			msisdn = n // a number, as the API sends it
		}
		rows = append(rows, map[string]any{"transactionId": t.ID, "trxDate": t.At.UTC().Format("2006-01-02T15:04:05.000Z"), "msisdn": msisdn,
			"sender": "", "transactiontype": t.Type, "billreference": t.Account, "amount": fmt.Sprintf("%d.00", t.Amount),
			"organizationname": "Huduma test paybill"})
	}
	code, msg := "1000", "Success"
	if len(rows) == 0 {
		code, msg = "1001", "No records found"
	}
	writeJSON(w, 200, map[string]any{"ResponseRefID": fmt.Sprintf("ref-%d", time.Now().UnixNano()), "ResponseCode": code,
		"ResponseMessage": msg, "Response": [][]map[string]any{rows}})
}
