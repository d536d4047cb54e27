package daraja

import (
	"strings"
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

// FuzzDecodeReversalResult: a refund's result moves money back or holds
// it again, so what the decoder accepts names a conversation and a result
// code, all in valid UTF-8, bounded.
func FuzzDecodeReversalResult(f *testing.F) {
	f.Add([]byte(`{"Result":{"ResultType":0,"ResultCode":0,"ResultDesc":"The service request is processed successfully.","OriginatorConversationID":"8521-4298025-1","ConversationID":"AG_20261122_00004e48cf7e3533f581","TransactionID":"RKTQDM7W6S","ResultParameters":{"ResultParameter":[{"Key":"OriginalTransactionID","Value":"RKTQDM7W6S"},{"Key":"Amount","Value":4300}]}}}`))
	f.Add([]byte(`{"Result":{"ResultType":0,"ResultCode":"2001","ResultDesc":"The initiator information is invalid.","ConversationID":"AG_2","ResultParameters":{"ResultParameter":{"Key":"OriginalTransactionID","Value":"T9"}}}}`))
	f.Add([]byte(`{"Result":{"ResultCode":"R000001","OriginatorConversationID":"x","ResultParameters":{"ResultParameter":[{"Key":"OriginalTransactionID","Value":{"a":1}}]}}}`))
	f.Add([]byte(`{"Result":{"ResultCode":"\ud800","ConversationID":"\u0000"}}`))
	f.Add([]byte("{\"Result\":{\"ResultCode\":\"0\xff\",\"ConversationID\":\"AG\"}}"))
	f.Add([]byte(`{"Result":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeReversalResult(body)
		if err != nil {
			return
		}
		if r.ConversationID == "" && r.OriginatorConversationID == "" {
			t.Fatalf("accepted a result naming no conversation: %+v", r)
		}
		if r.ResultCode == "" || len(r.ResultCode) > 20 {
			t.Fatalf("result code %q", r.ResultCode)
		}
		for _, s := range []string{r.ResultCode, r.ResultDesc, r.ConversationID, r.OriginatorConversationID, r.OriginalTransID} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("accepted %q in %+v", s, r)
			}
		}
	})
}

// FuzzDecodePullReply: a pull page settles money, so every payment it
// yields is whole shillings under a transaction id, in valid UTF-8, and
// every row is counted once, as a payment or as another kind.
func FuzzDecodePullReply(f *testing.F) {
	f.Add([]byte(`{"ResponseRefID":"ref-1","ResponseCode":"1000","ResponseMessage":"Success","Response":[[{"transactionId":"RKTQDM7W6S","trxDate":"2026-11-22T06:30:00.000Z","msisdn":"2547****149","sender":"UNKNOWN","transactiontype":"c2b-pay-bill-debit","billreference":"1234567890","amount":"4600.00","organizationname":"eCitizen"}]]}`))
	f.Add([]byte(`{"ResponseCode":1000,"Response":[{"transactionId":"A2","trxDate":"2026-11-22T06:30:00Z","msisdn":254708374149,"transactiontype":"c2b-buy-goods-debit","billreference":" x ","amount":"1,250.00"},{"transactionId":"R1","transactiontype":"reversal","amount":"-4600"}]}`))
	f.Add([]byte(`{"ResponseCode":"1001","ResponseMessage":"No records","Response":[[]]}`))
	f.Add([]byte(`{"ResponseCode":"1000","Response":[[{"transactionId":"A3","transactiontype":"c2b-pay-bill-debit","amount":"10.50"}]]}`))
	f.Add([]byte(`{"ResponseCode":"1000","Response":[[{"transactionId":"A4","transactiontype":"c2b-pay-bill-debit","amount":"1e3","msisdn":{"x":[1]}}]]}`))
	f.Add([]byte("{\"ResponseCode\":\"1000\",\"Response\":[{\"transactionId\":\"A5\",\"transactiontype\":\"c2b\",\"amount\":\"5\",\"msisdn\":\"2547\xff\",\"billreference\":\"\\u0000\"}]}"))
	f.Add([]byte(`{"ResponseCode":"500","ResponseMessage":"failed"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := DecodePullReply(body)
		if err != nil {
			return
		}
		others := 0
		for kind, n := range page.Other {
			if n <= 0 || strings.HasPrefix(kind, "c2b") {
				t.Fatalf("other rows %q: %d", kind, n)
			}
			others += n
		}
		if page.Rows != len(page.Payments)+others+len(page.Refused) {
			t.Fatalf("%d rows read, %d payments, %d others and %d refused", page.Rows, len(page.Payments), others, len(page.Refused))
		}
		for _, p := range page.Payments {
			if p.TransID == "" || len(p.TransID) > 40 || p.Amount < 0 {
				t.Fatalf("payment %+v", p)
			}
			for _, s := range []string{p.TransID, p.Account, p.MSISDN} {
				if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
					t.Fatalf("accepted %q in %+v", s, p)
				}
			}
		}
	})
}
