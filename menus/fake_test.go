package menus

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/huduma-ke/huduma"
)

// fakeCatalog is an in-memory Catalog for testing the pure menu logic; the
// real stores are tested against Postgres and SQLite in store/storetest.
type fakeCatalog struct {
	services []huduma.Service
	cats     []huduma.Category
}

func (f *fakeCatalog) SearchServices(_ context.Context, q string, limit int) ([]huduma.Service, error) {
	var out []huduma.Service
	q = strings.ToLower(q)
	for _, s := range f.services {
		if strings.Contains(strings.ToLower(s.NameEN+" "+s.NameSW), q) {
			out = append(out, s)
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (f *fakeCatalog) Categories(context.Context) ([]huduma.Category, error) { return f.cats, nil }

func (f *fakeCatalog) ServicesInCategory(_ context.Context, cat string, offset, limit int) ([]huduma.Service, error) {
	var all []huduma.Service
	for _, s := range f.services {
		if s.CategoryCode == cat {
			all = append(all, s)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Code < all[j].Code })
	if offset > len(all) {
		return nil, nil
	}
	all = all[offset:]
	if len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

func (f *fakeCatalog) ServiceByCode(_ context.Context, code int) (huduma.Service, error) {
	for _, s := range f.services {
		if s.Code == code {
			return s, nil
		}
	}
	return huduma.Service{}, fmt.Errorf("service %d: %w", code, huduma.ErrNotFound)
}

func (f *fakeCatalog) FeeBands(context.Context) ([]huduma.FeeBand, error) { return nil, nil }

// longCatalog has names far longer than a screen line, in both languages,
// and categories big enough to page.
func longCatalog() *fakeCatalog {
	f := &fakeCatalog{}
	long := " with an exceptionally long descriptive name that no feature phone screen could ever hold in one line"
	longSW := " yenye jina refu sana la maelezo ambalo skrini ya simu ya kawaida haiwezi kulionyesha katika mstari mmoja"
	for c := 1; c <= 11; c++ {
		code := fmt.Sprintf("cat%02d", c)
		f.cats = append(f.cats, huduma.Category{Code: code,
			NameEN: fmt.Sprintf("Category %d of government services and other registrations", c),
			NameSW: fmt.Sprintf("Kundi la %d la huduma za serikali na usajili mwingine", c)})
		for i := 1; i <= 23; i++ {
			f.services = append(f.services, huduma.Service{
				Code: c*1000 + i, CategoryCode: code, AgencyCode: "AG", Active: true,
				NameEN:     fmt.Sprintf("Passport service %d-%d%s", c, i, long),
				NameSW:     fmt.Sprintf("Huduma ya pasipoti %d-%d%s", c, i, longSW),
				AgencyName: "Department of Immigration and Citizen Services, Nyayo House, Nairobi County",
				Fee:        int64(c*i*1000 + 999),
				Inputs: []huduma.Input{
					{Key: "id", LabelEN: "National identity card number", LabelSW: "Nambari ya kitambulisho cha taifa", Kind: huduma.KindIDNumber},
					{Key: "plate", LabelEN: "Vehicle registration", LabelSW: "Nambari ya usajili wa gari", Kind: huduma.KindVehicle},
				},
			})
		}
	}
	f.services = append(f.services, huduma.Service{Code: 42, CategoryCode: "cat01", AgencyCode: "AG", Active: true,
		NameEN: "Birth certificate", NameSW: "Cheti cha kuzaliwa", AgencyName: "Civil Registration Services", Fee: 50})
	return f
}

// fakePayments is an in-memory Payments for the pure menu tests; the real
// money path is tested end to end in cmd/huduma against both backends.
type fakePayments struct {
	invoices map[huduma.InvoiceNumber]huduma.Invoice
	pushes   int
	// capped is a phone that has had its fill of strangers' prompts;
	// byPayer counts the prompts asked for by their payer.
	capped  huduma.MSISDN
	byPayer int
	// partPaid is a pending invoice that received KES 300 of 4,600.
	partPaid huduma.InvoiceNumber
	// created counts the invoices CreateInvoice made.
	created int
}

func newFakePayments() *fakePayments {
	f := &fakePayments{invoices: map[huduma.InvoiceNumber]huduma.Invoice{}}
	paid := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i, st := range []huduma.InvoiceStatus{huduma.InvoicePaid, huduma.InvoicePending, huduma.InvoiceFailed, huduma.InvoiceCancelled, huduma.InvoiceExpired} {
		body := fmt.Sprintf("10000000%d", i)
		n := huduma.InvoiceNumber(body + string(huduma.DammDigit(body)))
		inv := huduma.Invoice{Number: n, ServiceName: "Passport service with an exceptionally long descriptive name that no screen could hold",
			Phone: "+254712345678", Total: 123456, Status: st, Reason: "2001", CreatedAt: paid.Add(time.Duration(i) * time.Minute)}
		if st == huduma.InvoicePaid {
			inv.MpesaReceipt, inv.PaidAt, inv.Application = "NLJ7RT61SV", &paid, "5550001112"
		}
		f.invoices[n] = inv
	}
	f.partPaid = huduma.InvoiceNumber("100000009" + string(huduma.DammDigit("100000009")))
	f.invoices[f.partPaid] = huduma.Invoice{Number: f.partPaid, ServiceName: "Passport", Phone: "+254712345678", Total: 4600, Received: 300,
		Status: huduma.InvoicePending, CreatedAt: paid.Add(-time.Hour)}
	return f
}

func (f *fakePayments) number(st huduma.InvoiceStatus) string {
	for n, inv := range f.invoices {
		if inv.Status == st && inv.Received == 0 {
			return string(n)
		}
	}
	return ""
}

func (f *fakePayments) CreateInvoice(_ context.Context, req huduma.InvoiceRequest) (huduma.Invoice, bool, error) {
	if req.Payer == f.capped && req.Payer != req.Phone {
		return huduma.Invoice{}, false, huduma.Errorf(huduma.ERateLimited, "capped")
	}
	f.created++
	inv := huduma.Invoice{Number: "1234567890", Total: 4600, Status: huduma.InvoicePending, Phone: req.Phone}
	return inv, req.Payer.Network() == huduma.Safaricom, nil
}

func (f *fakePayments) Invoice(_ context.Context, n huduma.InvoiceNumber) (huduma.Invoice, error) {
	if inv, ok := f.invoices[n]; ok {
		return inv, nil
	}
	return huduma.Invoice{}, huduma.ErrNotFound
}

func (f *fakePayments) RequestPushByPayer(ctx context.Context, n huduma.InvoiceNumber, payer huduma.MSISDN, key string) error {
	f.byPayer++
	capped := f.capped
	f.capped = ""
	defer func() { f.capped = capped }()
	return f.RequestPush(ctx, n, payer, key)
}

func (f *fakePayments) RequestPush(_ context.Context, n huduma.InvoiceNumber, payer huduma.MSISDN, key string) error {
	if payer == f.capped && payer != f.invoices[n].Phone {
		return huduma.Errorf(huduma.ERateLimited, "capped")
	}
	if payer.Network() != huduma.Safaricom {
		return huduma.Errorf(huduma.EInvalid, "safaricom only")
	}
	if f.invoices[n].Status == huduma.InvoicePaid {
		return huduma.Errorf(huduma.EConflict, "paid")
	}
	f.pushes++
	return nil
}

func (f *fakePayments) InvoicesByPhone(_ context.Context, _ huduma.MSISDN, offset, limit int) ([]huduma.Invoice, error) {
	var all []huduma.Invoice
	for _, inv := range f.invoices {
		all = append(all, inv)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].CreatedAt.After(all[j].CreatedAt) })
	if offset > len(all) {
		return nil, nil
	}
	return all[offset:min(len(all), offset+limit)], nil
}

// TrackApplication knows application 5550001112, which the paid invoice
// opened, by either number.
func (f *fakePayments) TrackApplication(_ context.Context, number string, _ huduma.MSISDN) (huduma.Application, error) {
	paid := f.number(huduma.InvoicePaid)
	if number != "5550001112" && number != paid {
		return huduma.Application{}, huduma.ErrNotFound
	}
	return huduma.Application{Number: "5550001112", ServiceCode: 1001, Invoice: paid,
		ServiceName: "Passport service with an exceptionally long descriptive name that no screen could hold",
		Status:      huduma.AppReady, Note: "Collect at Nyayo House, counter 14, with your old passport and ID card",
		UpdatedAt: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)}, nil
}
