package menus

import (
	"context"
	"fmt"
	"strconv"

	"github.com/huduma-ke/huduma"
)

// render draws the screen of s.State, with msg (a refusal reason or a
// note) as its first line, and records the list entries it showed.
func (m *Machine) render(ctx context.Context, s *Session, env Env, msg string) (huduma.Reply, error) {
	p, keys, err := m.page(ctx, s, env)
	if err != nil {
		return huduma.Reply{}, err
	}
	p.reason = msg
	out := layout(p, s.Lang)
	if keys != nil {
		s.Items, s.More = keys[:out.shown], out.more
	} else {
		s.Items, s.More = nil, false
	}
	return huduma.Reply{Text: out.text, End: p.end, Screen: s.State}, nil
}

// page builds the unlaid-out screen for s.State; for lists it also returns
// the keys of the candidate entries, in order.
func (m *Machine) page(ctx context.Context, s *Session, env Env) (page, []string, error) {
	lang := s.Lang
	switch s.State {
	case StateMain:
		opts := []option{{"1", tFindService.T(lang)}}
		if m.pay != nil {
			opts = append(opts, option{"2", tPayInvoice.T(lang)}, option{"3", tCheckStatus.T(lang)}, option{"4", tMyInvoices.T(lang)},
				option{"5", tTrackApp.T(lang)})
		}
		return page{
			header:  []string{tMainTitle.F(lang, m.cfg.ServiceCode)},
			options: append(opts, option{"6", tLanguageItem.T(lang)}),
		}, nil, nil
	case StateInput:
		p, err := m.inputPage(ctx, s)
		return p, nil, err
	case StateConfirm:
		p, err := m.confirmPage(ctx, s, env)
		return p, nil, err
	case StateOtherPhone:
		return page{header: []string{tOtherPrompt.T(lang)}, nav: true}, nil, nil
	case StateInvoiceNumber:
		return page{header: []string{tInvoicePrompt.T(lang)}, nav: true}, nil, nil
	case StateInvoice:
		p, err := m.invoicePage(ctx, s)
		return p, nil, err
	case StateMyInvoices:
		return m.myInvoicesPage(ctx, s, env)
	case StateTrackNumber:
		return page{header: []string{tTrackPrompt.T(lang)}, nav: true}, nil, nil
	case StateApplication:
		p, err := m.applicationPage(ctx, s)
		return p, nil, err
	case StateDone:
		return page{header: []string{s.Done}, end: true}, nil, nil
	case StateFind:
		return page{
			header:  []string{tFindTitle.T(lang)},
			options: []option{{"1", tSearchName.T(lang)}, {"2", tBrowse.T(lang)}, {"3", tEnterCode.T(lang)}},
			nav:     true,
		}, nil, nil
	case StateSearch:
		return page{header: []string{tSearchPrompt.T(lang)}, nav: true}, nil, nil
	case StateCode:
		return page{header: []string{tCodePrompt.T(lang)}, nav: true}, nil, nil
	case StateLanguage:
		return page{
			header:  []string{tLangTitle.T(lang)},
			options: []option{{"1", tEnglish.T(lang)}, {"2", tSwahili.T(lang)}},
			nav:     true,
		}, nil, nil
	case StateSearchResults:
		found, err := m.cat.SearchServices(ctx, s.Query, m.cfg.SearchLimit)
		if err != nil {
			return page{}, nil, fmt.Errorf("search services: %w", err)
		}
		from := min(s.Offset, len(found))
		to := min(from+pageSize, len(found))
		p, keys := serviceList(found[from:to], lang)
		p.header = []string{tResultsTitle.F(lang, truncate(s.Query, 20))}
		p.moreBeyond = to < len(found)
		return p, keys, nil
	case StateCategories:
		cats, err := m.cat.Categories(ctx)
		if err != nil {
			return page{}, nil, fmt.Errorf("list categories: %w", err)
		}
		from := min(s.Offset, len(cats))
		to := min(from+pageSize, len(cats))
		p := page{header: []string{tCatTitle.T(lang)}, nav: true, moreBeyond: to < len(cats)}
		var keys []string
		for _, c := range cats[from:to] {
			p.items = append(p.items, c.Name(lang))
			keys = append(keys, c.Code)
		}
		return p, keys, nil
	case StateCategoryServices:
		svcs, err := m.cat.ServicesInCategory(ctx, s.Category, s.Offset, pageSize+1)
		if err != nil {
			return page{}, nil, fmt.Errorf("list category services: %w", err)
		}
		more := len(svcs) > pageSize
		p, keys := serviceList(svcs[:min(len(svcs), pageSize)], lang)
		p.header = []string{m.categoryName(ctx, s.Category, lang)}
		p.moreBeyond = more
		return p, keys, nil
	case StateService:
		return m.servicePage(ctx, s)
	}
	return page{}, nil, fmt.Errorf("no screen for state %q", s.State)
}

func serviceList(svcs []huduma.Service, lang huduma.Language) (page, []string) {
	p := page{nav: true}
	keys := make([]string, 0, len(svcs))
	for _, sv := range svcs {
		p.items = append(p.items, sv.Name(lang))
		keys = append(keys, strconv.Itoa(sv.Code))
	}
	return p, keys
}

func (m *Machine) categoryName(ctx context.Context, code string, lang huduma.Language) string {
	cats, err := m.cat.Categories(ctx)
	if err == nil {
		for _, c := range cats {
			if c.Code == code {
				return c.Name(lang)
			}
		}
	}
	return code
}

func (m *Machine) servicePage(ctx context.Context, s *Session) (page, []string, error) {
	lang := s.Lang
	sv, err := m.cat.ServiceByCode(ctx, s.Service)
	if err != nil {
		return page{}, nil, fmt.Errorf("load service %d: %w", s.Service, err)
	}
	bands, err := m.cat.FeeBands(ctx)
	if err != nil {
		return page{}, nil, fmt.Errorf("load fee bands: %w", err)
	}
	conv := huduma.ConvenienceFee(bands, sv.Fee)
	p := page{
		header: []string{
			sv.Name(lang),
			sv.AgencyName,
			tFee.F(lang, money(sv.Fee)),
			tTotal.F(lang, money(sv.Fee+conv), money(conv)),
		},
		nav: true,
	}
	if m.pay != nil {
		p.options = []option{{"1", tPayNow.T(lang)}, {"2", tSMSDetail.T(lang)}}
	}
	return p, nil, nil
}
