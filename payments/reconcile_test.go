package payments

import (
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
	} {
		if _, err := ParseStatement(strings.NewReader(bad)); huduma.ErrorCode(err) != huduma.EInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}
