package payments

import (
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
)

// FuzzParseStatement: whatever file an officer hands `huduma reconcile`,
// the parser never panics; it refuses the file with an error, or returns
// rows that can be reconciled as they are: a receipt, a completion time,
// whole non-negative amounts, the line each came from, in file order.
func FuzzParseStatement(f *testing.F) {
	f.Add("\ufeff\"Account Name:\",\"HUDUMA\"\n\n" +
		"Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Other Party Info,A/C No.\n" +
		"R1,2026-11-22 10:30:00,Pay Bill,Completed,\"4,600.00\",,254712345678 - JANE DOE,1234567890\n" +
		"R2,22/11/2026 10:31,Pay Bill,Completed,168,,,  x  \n" +
		"R3,22-11-2026 10:32:00,Reversal,Completed,,\"-168.00\",,\n" +
		"R4,2026-11-22T10:33:00,Pay Bill,Failed,10.00,,,\n" +
		",,,,,,,\n")
	f.Add("Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Reason Type,Other Party Info,Linked Transaction ID,A/C No.\n" +
		"RKT1,2026-11-22 10:30:00,Business Payment Reversal,Completed,,\"4,300.00\",Reversal,,RKTQDM7W6S,\n")
	f.Add("Receipt No.,Completion Time,Paid In,A/C No.\nR1,2026-11-22 10:30:00,10.50,x\n")
	f.Add("Receipt No.,Completion Time,Paid In,A/C No.\nR1,yesterday,1,x\n")
	f.Add("Receipt No.,Completion Time,Paid In,A/C No.\n\"R1\nR2\",2026-11-22 10:30:00,\"1\",\"x\"\"y\n")
	f.Add("Receipt No.,Receipt No.,Completion Time,Paid In,A/C No.\nR1\n")
	f.Add("a,b\n1,2\n")
	f.Add("Receipt No.,Completion Time,Paid In,A/C No.\nR1,2026-11-22 10:30:00,99999999999999999999,x\n")
	f.Add("Receipt No.,Completion Time,Paid In,A/C No.\nR1,2026-11-22 10:30:00,+5,x\nR2,2026-11-22 10:30:00,-0,x\n")
	f.Fuzz(func(t *testing.T, file string) {
		rows, err := ParseStatement(strings.NewReader(file))
		if err != nil {
			if rows != nil {
				t.Fatalf("an error (%v) with %d rows", err, len(rows))
			}
			if huduma.ErrorCode(err) != huduma.EInvalid && !strings.HasPrefix(err.Error(), "statement: ") {
				t.Fatalf("an error that names no line or reason: %v", err)
			}
			return
		}
		last := 0
		for _, r := range rows {
			if r.Receipt == "" || r.Completed.IsZero() || r.PaidIn < 0 || r.Withdrawn < 0 {
				t.Fatalf("row %+v", r)
			}
			if r.Line <= last {
				t.Fatalf("row of line %d after line %d", r.Line, last)
			}
			last = r.Line
			if r.PaymentIn() && r.PaidIn <= 0 {
				t.Fatalf("a payment in of %d", r.PaidIn)
			}
		}
	})
}
