package payments

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/huduma-ke/huduma"
)

func TestParseStatement(t *testing.T) {
	good := "\ufeff\"Account Name:\",\"HUDUMA\"\n\n" +
		"Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Other Party Info,A/C No.\n" +
		"R1,2026-11-22 10:30:00,Pay Bill,Completed,\"4,600.00\",,254712345678 - JANE DOE,1234567890\n" +
		"R2,22/11/2026 10:31,Pay Bill,Completed,168,,,  x  \n" +
		"R3,22-11-2026 10:32:00,Reversal,Completed,,\"-168.00\",,\n" +
		"R4,2026-11-22T10:33:00,Pay Bill,Failed,10.00,,,\n" +
		",,,,,,,\n"
	rows, err := ParseStatement(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	r := rows[0]
	if r.Receipt != "R1" || r.PaidIn != 4600 || r.Account != "1234567890" || !r.Completed.Equal(time.Date(2026, 11, 22, 7, 30, 0, 0, time.UTC)) ||
		r.msisdn != "254712345678" || strings.Contains(r.OtherParty, "345678") || r.Line != 4 || !r.PaymentIn() {
		t.Fatalf("row %+v", r)
	}
	if rows[1].account != "x" || rows[1].PaidIn != 168 || rows[2].Withdrawn != 168 || rows[2].PaymentIn() || rows[3].PaymentIn() {
		t.Fatalf("rows %+v", rows[1:])
	}
	for name, bad := range map[string]string{
		"no header":     "a,b\n1,2\n",
		"missing col":   "Receipt No.,Completion Time,Paid In\nR1,2026-11-22 10:30:00,1\n",
		"fraction":      "Receipt No.,Completion Time,Paid In,A/C No.\nR1,2026-11-22 10:30:00,10.50,x\n",
		"not an amount": "Receipt No.,Completion Time,Paid In,A/C No.\nR1,2026-11-22 10:30:00,ten,x\n",
		"bad time":      "Receipt No.,Completion Time,Paid In,A/C No.\nR1,yesterday,1,x\n",
		// A negative Paid In was read as its absolute value: money out
		// passing for money in.
		"negative paid in":      "Receipt No.,Completion Time,Paid In,A/C No.\nR1,2026-11-22 10:30:00,\"-4,600.00\",x\n",
		"minus zero paid in":    "Receipt No.,Completion Time,Paid In,A/C No.\nR1,2026-11-22 10:30:00,-0,x\n",
		"int64's largest":       "Receipt No.,Completion Time,Paid In,A/C No.\nR1,2026-11-22 10:30:00,9223372036854775807,x\n",
		"above M-Pesa's most":   "Receipt No.,Completion Time,Paid In,A/C No.\nR1,2026-11-22 10:30:00,\"250,001.00\",x\n",
		"past int64":            "Receipt No.,Completion Time,Paid In,Withdrawn,A/C No.\nR1,2026-11-22 10:30:00,,-9223372036854775808,x\n",
		"a receipt that is not": "Receipt No.,Completion Time,Paid In,A/C No.\nR1;DROP,2026-11-22 10:30:00,1,x\n",
	} {
		if _, err := ParseStatement(strings.NewReader(bad)); huduma.ErrorCode(err) != huduma.EInvalid || strings.Contains(bad, "A/C No.") && !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Terminal escapes and NUL in what the statement says are replaced;
	// receipts and linked ids in lower case are the ids M-Pesa means.
	rows, err = ParseStatement(strings.NewReader("Receipt No.,Completion Time,Details,Paid In,Withdrawn,Other Party Info,Linked Transaction ID,A/C No.\n" +
		"rktqdm7w6s,2026-11-22 10:30:00,\x1b[2JPay Bill,\"250,000.00\",,\"254712345678 - \x1b]0;pwned\x07JANE\x00\",,12345\x1b[1m\n" +
		"REV1,2026-11-22 10:31:00,Reversal,,\"-9,223,372,036,854,775,807\",,rktqdm7w6s,\n"))
	if err != nil || len(rows) != 2 {
		t.Fatalf("%+v %v", rows, err)
	}
	r = rows[0]
	if r.Receipt != "RKTQDM7W6S" || r.PaidIn != huduma.MaxPayment || r.Details != "\ufffd[2JPay Bill" || r.OtherParty != huduma.Redact("254712345678 - \ufffd]0;pwned\ufffdJANE\ufffd") ||
		r.account != "12345\ufffd[1m" || r.Account != "12345\ufffd[1m" {
		t.Fatalf("cleaned row %+v", r)
	}
	if rows[1].Linked != "RKTQDM7W6S" || rows[1].Withdrawn != math.MaxInt64 {
		t.Fatalf("reversal row %+v", rows[1])
	}
}

// TestAddSat: the statement's reversals of one payment add up without
// wrapping round to a small or negative sum.
func TestAddSat(t *testing.T) {
	for _, tc := range [][3]int64{{1, 2, 3}, {math.MaxInt64, 1, math.MaxInt64}, {math.MaxInt64 - 1, math.MaxInt64, math.MaxInt64}, {0, math.MaxInt64, math.MaxInt64}} {
		if got := addSat(tc[0], tc[1]); got != tc[2] {
			t.Errorf("addSat(%d, %d) = %d, want %d", tc[0], tc[1], got, tc[2])
		}
	}
}
