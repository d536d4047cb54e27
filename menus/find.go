package menus

import (
	"fmt"
	"strconv"

	"github.com/huduma-ke/huduma"
	"github.com/huduma-ke/huduma/texts"
)

// The main menu, the resume offer, finding a service and the language
// screen: the states that need only the session and the catalog.

func handleMain(st *step, in string) (outcome, error) {
	pay := st.m.pay != nil
	switch {
	case in == "1":
		return outcome{event: EventFind}, nil
	case in == "6":
		return outcome{event: EventLanguage}, nil
	case in == "2" && pay:
		return outcome{event: EventPayInvoice}, nil
	case in == "3" && pay:
		return outcome{event: EventCheckStatus}, nil
	case in == "4" && pay:
		st.s.Offset, st.s.Prev = 0, nil
		return outcome{event: EventMyInvoices}, nil
	case in == "5" && pay:
		return outcome{event: EventTrack}, nil
	}
	return invalid(texts.InvalidChoice.T(st.lang())), nil
}

func mainPage(st *step) (page, []string, error) {
	lang := st.lang()
	opts := []option{{"1", texts.FindService.T(lang)}}
	if st.m.pay != nil {
		opts = append(opts, option{"2", texts.PayInvoice.T(lang)}, option{"3", texts.CheckStatus.T(lang)}, option{"4", texts.MyInvoices.T(lang)},
			option{"5", texts.TrackApp.T(lang)})
	}
	return page{header: []string{texts.MainTitle.F(lang, st.m.cfg.ServiceCode)}, options: append(opts, option{"6", texts.LanguageItem.T(lang)})}, nil, nil
}

// handleResume answers "1. Continue / 2. Start again". Continuing puts
// back the exact session and screen the caller left, in the language they
// use now.
func handleResume(st *step, in string) (outcome, error) {
	switch in {
	case "1":
		snap := st.s.Resume
		if snap == nil {
			return outcome{event: EventStartAgain}, nil
		}
		lang := st.s.Lang
		*st.s = snap.Menu
		st.s.Lang = lang
		return outcome{event: continueTo(st.s.State), shown: &huduma.Reply{Text: snap.Reply, Screen: snap.Screen, Lang: lang}}, nil
	case "2":
		*st.s = Session{State: StateResume, Lang: st.s.Lang}
		return outcome{event: EventStartAgain}, nil
	}
	return invalid(texts.ChooseOneTw.T(st.lang())), nil
}

func resumePage(st *step) (page, []string, error) {
	lang := st.lang()
	return page{header: []string{texts.MainTitle.F(lang, st.m.cfg.ServiceCode), texts.ResumeLead.T(lang)},
		options: []option{{"1", texts.Continue.T(lang)}, {"2", texts.StartAgain.T(lang)}}}, nil, nil
}

func handleFind(st *step, in string) (outcome, error) {
	switch in {
	case "1":
		return outcome{event: EventSearch}, nil
	case "2":
		st.s.Offset, st.s.Prev = 0, nil
		return outcome{event: EventBrowse}, nil
	case "3":
		return outcome{event: EventEnterCode}, nil
	case "0":
		return outcome{event: EventBack}, nil
	}
	return invalid(texts.InvalidChoice.T(st.lang())), nil
}

func findPage(st *step) (page, []string, error) {
	lang := st.lang()
	return page{header: []string{texts.FindTitle.T(lang)},
		options: []option{{"1", texts.SearchName.T(lang)}, {"2", texts.Browse.T(lang)}, {"3", texts.EnterCode.T(lang)}}, nav: true}, nil, nil
}

func handleLanguage(st *step, in string) (outcome, error) {
	switch in {
	case "1", "2":
		st.s.Lang = huduma.English
		if in == "2" {
			st.s.Lang = huduma.Kiswahili
		}
		st.intend(Intent{Kind: IntentLanguage, Lang: st.s.Lang})
		return outcome{event: EventSetLanguage, note: texts.LangSet.T(st.s.Lang)}, nil
	case "0":
		return outcome{event: EventBack}, nil
	}
	return invalid(texts.InvalidChoice.T(st.lang())), nil
}

func languagePage(st *step) (page, []string, error) {
	lang := st.lang()
	return page{header: []string{texts.LangTitle.T(lang)}, options: []option{{"1", texts.English.T(lang)}, {"2", texts.Swahili.T(lang)}}, nav: true}, nil, nil
}

func handleSearch(st *step, in string) (outcome, error) {
	if in == "0" {
		return outcome{event: EventBack}, nil
	}
	q, err := huduma.SearchQuery(in)
	if err != nil {
		return invalid(texts.QueryShort.T(st.lang())), nil
	}
	found, err := st.search(q)
	if err != nil {
		return outcome{}, err
	}
	if len(found) == 0 {
		return invalid(texts.NoMatch.T(st.lang())), nil
	}
	st.s.Query, st.s.Offset, st.s.Prev = q, 0, nil
	return outcome{event: EventResults}, nil
}

func searchPage(st *step) (page, []string, error) {
	return page{header: []string{texts.SearchPrompt.T(st.lang())}, nav: true}, nil, nil
}

func resultsPage(st *step) (page, []string, error) {
	found, err := st.search(st.s.Query)
	if err != nil {
		return page{}, nil, err
	}
	from := min(st.s.Offset, len(found))
	to := min(from+pageSize, len(found))
	p, keys := serviceList(found[from:to], st.lang())
	// Titled by the words searched for: "I need a passport" found
	// passports.
	p.header = []string{texts.ResultsTitle.F(st.lang(), truncate(huduma.KeyWords(st.s.Query), 20))}
	p.moreBeyond = to < len(found)
	return p, keys, nil
}

func handleCode(st *step, in string) (outcome, error) {
	if in == "0" {
		return outcome{event: EventBack}, nil
	}
	code, err := huduma.ParseServiceCode(in)
	if err != nil {
		return invalid(texts.CodeDigits.T(st.lang())), nil
	}
	if _, err := st.serviceByCode(code); err != nil {
		if huduma.ErrorCode(err) == huduma.ENotFound {
			return invalid(texts.NoCode.F(st.lang(), code)), nil
		}
		return outcome{}, fmt.Errorf("look up service code: %w", err)
	}
	st.s.Service, st.s.From = code, StateCode
	return outcome{event: EventOpenService}, nil
}

func codePage(st *step) (page, []string, error) {
	return page{header: []string{texts.CodePrompt.T(st.lang())}, nav: true}, nil, nil
}

// handleList interprets input on any paged list: a number picks an item,
// 98 pages forward, 0 pages back or leaves the list.
func handleList(st *step, in string) (outcome, error) {
	s := st.s
	switch in {
	case "98":
		if !s.More {
			return invalid(texts.NoMore.T(s.Lang)), nil
		}
		s.Prev = append(s.Prev, s.Offset)
		s.Offset += len(s.Items)
		return outcome{event: EventMore}, nil
	case "0":
		if n := len(s.Prev); n > 0 {
			s.Offset, s.Prev = s.Prev[n-1], s.Prev[:n-1]
			return outcome{event: EventPageBack}, nil
		}
		if s.State == StateCategoryServices {
			s.Offset, s.Prev = s.CatOffset, s.CatPrev
		}
		return outcome{event: EventBack}, nil
	}
	n, err := strconv.Atoi(in)
	if err != nil || n < 1 || n > len(s.Items) {
		return invalid(texts.InvalidChoice.T(s.Lang)), nil
	}
	key := s.Items[n-1]
	st.picked = key
	if s.State == StateCategories {
		s.Category = key
		s.CatOffset, s.CatPrev = s.Offset, s.Prev
		s.Offset, s.Prev = 0, nil
		return outcome{event: EventOpenCategory}, nil
	}
	code, _ := strconv.Atoi(key)
	s.Service, s.From = code, s.State
	return outcome{event: EventOpenService}, nil
}

func categoriesPage(st *step) (page, []string, error) {
	cats, err := st.categories()
	if err != nil {
		return page{}, nil, err
	}
	from := min(st.s.Offset, len(cats))
	to := min(from+pageSize, len(cats))
	p := page{header: []string{texts.CatTitle.T(st.lang())}, nav: true, moreBeyond: to < len(cats)}
	var keys []string
	for _, c := range cats[from:to] {
		p.items = append(p.items, c.Name(st.lang()))
		keys = append(keys, c.Code)
	}
	return p, keys, nil
}

func categoryServicesPage(st *step) (page, []string, error) {
	svcs, err := st.m.cat.ServicesInCategory(st.ctx, st.s.Category, st.s.Offset, pageSize+1)
	if err != nil {
		return page{}, nil, fmt.Errorf("list category services: %w", err)
	}
	p, keys := serviceList(svcs[:min(len(svcs), pageSize)], st.lang())
	name := st.s.Category
	if cats, err := st.categories(); err == nil {
		for _, c := range cats {
			if c.Code == st.s.Category {
				name = c.Name(st.lang())
			}
		}
	}
	p.header = []string{name}
	p.moreBeyond = len(svcs) > pageSize
	return p, keys, nil
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

func handleService(st *step, in string) (outcome, error) {
	s := st.s
	switch {
	case in == "0":
		switch s.From {
		case StateSearchResults:
			return outcome{event: EventBackResults}, nil
		case StateCategoryServices:
			return outcome{event: EventBackCategory}, nil
		}
		return outcome{event: EventBackCode}, nil
	case (in == "1" || in == "2") && st.m.pay != nil:
		sv, err := st.serviceByCode(s.Service)
		if err != nil {
			return outcome{}, fmt.Errorf("load service: %w", err)
		}
		if !st.payable(sv) {
			// Neither is offered: the screen says how to pay it instead
			// (and the details SMS would say to dial here to pay).
			return invalid(texts.InvalidChoice.T(s.Lang)), nil
		}
		if in == "2" {
			st.intend(Intent{Kind: IntentServiceDetails, Service: s.Service, Lang: s.Lang})
			s.Done = texts.DoneDetails.T(s.Lang)
			return outcome{event: EventSMSDetails}, nil
		}
		s.Field, s.Values = 0, nil
		if len(sv.Inputs) > 0 {
			return outcome{event: EventPayNow}, nil
		}
		return outcome{event: EventPayDirect}, nil
	}
	return invalid(texts.InvalidChoice.T(s.Lang)), nil
}

func servicePage(st *step) (page, []string, error) {
	lang := st.lang()
	sv, err := st.serviceByCode(st.s.Service)
	if err != nil {
		return page{}, nil, fmt.Errorf("load service %d: %w", st.s.Service, err)
	}
	bands, err := st.m.cat.FeeBands(st.ctx)
	if err != nil {
		return page{}, nil, fmt.Errorf("load fee bands: %w", err)
	}
	conv := huduma.ConvenienceFee(bands, sv.Fee)
	p := page{header: []string{sv.Name(lang), sv.AgencyName, texts.Fee.F(lang, money(sv.Fee)), texts.Total.F(lang, money(sv.Fee+conv), money(conv))}, nav: true}
	switch {
	case st.m.pay != nil && !st.payable(sv):
		p.notes = []string{texts.NotPayableHere.T(lang)}
	case st.m.pay != nil:
		p.options = []option{{"1", texts.PayNow.T(lang)}, {"2", texts.SMSDetail.T(lang)}}
	}
	return p, nil, nil
}

func donePage(st *step) (page, []string, error) {
	return page{header: []string{st.s.Done}, end: true}, nil, nil
}
