package daraja

import (
	"testing"
	"unicode/utf8"
)

// Daraja callbacks move money state, so whatever the decoders accept must
// be exact: whole non-negative shillings, a checkout or transaction id,
// valid text. Malformed bodies must be errors, never panics.

func FuzzDecodeSTKCallback(f *testing.F) {
	f.Add([]byte(`{"Body":{"stkCallback":{"MerchantRequestID":"m","CheckoutRequestID":"ws_CO_1","ResultCode":0,"ResultDesc":"ok","CallbackMetadata":{"Item":[{"Name":"Amount","Value":4600},{"Name":"MpesaReceiptNumber","Value":"SIM123"},{"Name":"Balance"},{"Name":"TransactionDate","Value":20261122101010},{"Name":"PhoneNumber","Value":254708374100}]}}}}`))
	f.Add([]byte(`{"Body":{"stkCallback":{"MerchantRequestID":"m","CheckoutRequestID":"ws_CO_2","ResultCode":1032,"ResultDesc":"Request cancelled by user"}}}`))
	f.Add([]byte(`{"Body":{"stkCallback":{"CheckoutRequestID":"ws_CO_3","ResultCode":"0","CallbackMetadata":{"Item":[{"Name":"Amount","Value":"1.5"}]}}}}`))
	f.Add([]byte(`{"Body":{"stkCallback":{"CheckoutRequestID":"x","ResultCode":0,"CallbackMetadata":{"Item":[{"Name":"Amount","Value":-1e309}]}}}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeSTKCallback(body)
		if err != nil {
			return
		}
		if r.CheckoutRequestID == "" || r.Amount < 0 || (r.Receipt != "" && !receiptRE.MatchString(r.Receipt)) || !utf8.ValidString(r.ResultCode) {
			t.Fatalf("accepted %+v from %q", r, body)
		}
	})
}

func FuzzDecodeC2B(f *testing.F) {
	f.Add([]byte(`{"TransactionType":"Pay Bill","TransID":"RKTQDM7W6S","TransTime":"20261122101010","TransAmount":"4600.00","BusinessShortCode":"222222","BillRefNumber":"1234567890","MSISDN":"2547 ***** 126","FirstName":"Wanjiku"}`))
	f.Add([]byte(`{"TransID":"X","TransAmount":"12.5","BillRefNumber":" 1234567890 "}`))
	f.Add([]byte(`{"TransID":"","TransAmount":"1e20"}`))
	f.Add([]byte(`{"TransAmount":4600}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := DecodeC2B(body)
		if err != nil {
			return
		}
		if c.TransID == "" || c.Amount < 0 || !utf8.ValidString(c.BillRefNumber) || !utf8.ValidString(c.MSISDN) {
			t.Fatalf("accepted %+v from %q", c, body)
		}
	})
}
