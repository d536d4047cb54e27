package huduma

import "testing"

// BenchmarkInvoiceNumber draws a number and checks its Damm digit.
func BenchmarkInvoiceNumber(b *testing.B) {
	for b.Loop() {
		if _, err := ParseInvoiceNumber(string(NewInvoiceNumber())); err != nil {
			b.Fatal(err)
		}
	}
}
