package menus

import (
	"context"
	"fmt"
	"sort"
	"strings"

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
			})
		}
	}
	f.services = append(f.services, huduma.Service{Code: 42, CategoryCode: "cat01", AgencyCode: "AG", Active: true,
		NameEN: "Birth certificate", NameSW: "Cheti cha kuzaliwa", AgencyName: "Civil Registration Services", Fee: 50})
	return f
}
