package providers

import (
	"context"
	"time"

	"github.com/huduma-ke/huduma"
)

// The billing contract, for a backend where invoices are bills on a
// payments platform of the government's (providers/ecitizen): the
// payments service creates a bill per invoice through a Biller, and the
// provider's notification route hands each payment it verified to the
// service as a BillPayment.

// Biller creates bills (e-Citizen's checkout). A second call for the
// same invoice is assumed to answer with the same bill (billRefNumber is
// the invoice number).
type Biller interface {
	CreateBill(ctx context.Context, b BillOrder) (CreatedBill, error)
}

// BillOrder is the bill to create for an invoice.
type BillOrder struct {
	Invoice huduma.Invoice
	// ServiceID is the catalog service's e-Citizen serviceID.
	ServiceID string
	// Payer is the phone billed (clientMSISDN).
	Payer huduma.MSISDN
	// SendSTK asks e-Citizen to prompt Payer.
	SendSTK bool
}

// CreatedBill is the biller's answer: the bill number, and its page.
type CreatedBill struct {
	Number, Link string
}

// BillPayment is a payment e-Citizen notified, as the notification route
// decoded and verified it.
type BillPayment struct {
	// Ref is our billRefNumber (the invoice number); Bill, e-Citizen's
	// bill number.
	Ref, Bill string
	Amount    int64
	// Reference is the payment's own reference ("" when none came);
	// Dedupe identifies the payment when it has none.
	Reference, Dedupe string
	PaidAt            time.Time
	// Phone is the payer's number as sent, if any.
	Phone string
}
