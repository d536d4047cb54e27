package huduma

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestReceivedPaymentJSON: a payment's JSON never shows a full number,
// not even one the payer typed as the account.
func TestReceivedPaymentJSON(t *testing.T) {
	p := ReceivedPayment{TransID: "T1", Account: "0712345678", Payer: "2547123***678", Phone: "+254712345678", Amount: 10, Suspense: 10,
		State: PaymentSuspense, Reason: ReasonUnknownAccount}
	b, err := json.Marshal(PaymentRecord{ReceivedPayment: p, Refunds: []Refund{}})
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "2345678") || !strings.Contains(s, `"trans_id":"T1"`) || !strings.Contains(s, `"refunds":[]`) {
		t.Fatalf("json %s", s)
	}
	if !(ReceivedPayment{TransID: "stk:ws_CO_1"}).Provisional() || (ReceivedPayment{TransID: "SIM1234567"}).Provisional() {
		t.Fatal("provisional")
	}
	for _, r := range []string{"unknown_account", "invoice_paid", "invoice_expired", "overpaid", "refund_failed", "unmatched_before_upgrade"} {
		if _, err := ParseSuspenseReason(r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ParseSuspenseReason("lost"); ErrorCode(err) != EInvalid {
		t.Fatal("unknown reason accepted")
	}
}
