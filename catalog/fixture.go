package catalog

import (
	"fmt"

	"github.com/huduma-ke/huduma"
)

// Fixture is a small catalog with the names search must cope with: the
// store conformance suite and the search index's tests share it.
func Fixture() huduma.Catalog {
	svc := func(code int, en, sw, ag, cat string, fee int64, inputs ...huduma.Input) huduma.Service {
		return huduma.Service{Code: code, NameEN: en, NameSW: sw, AgencyCode: ag, CategoryCode: cat, Fee: fee, Active: true, Inputs: inputs}
	}
	id := huduma.Input{Key: "id_number", LabelEN: "ID number", LabelSW: "Nambari ya kitambulisho", Kind: huduma.KindIDNumber}
	plate := huduma.Input{Key: "plate", LabelEN: "Vehicle registration", LabelSW: "Nambari ya gari", Kind: huduma.KindVehicle}
	c := huduma.Catalog{
		Agencies: []huduma.Agency{{Code: "DIS", Name: "Department of Immigration Services"}, {Code: "NTSA", Name: "National Transport and Safety Authority"},
			{Code: "CRS", Name: "Civil Registration Services"}, {Code: "MOL", Name: "Ministry of Lands"}, {Code: "BRS", Name: "Business Registration Service"},
			{Code: "NPS", Name: "National Police Service"}},
		Categories: []huduma.Category{{Code: "immigration", NameEN: "Immigration", NameSW: "Uhamiaji"}, {Code: "ntsa", NameEN: "Motor vehicles", NameSW: "Magari"},
			{Code: "civil", NameEN: "Civil registration", NameSW: "Usajili wa raia"}, {Code: "lands", NameEN: "Lands", NameSW: "Ardhi"},
			{Code: "business", NameEN: "Business registration", NameSW: "Usajili wa biashara"}, {Code: "police", NameEN: "Police", NameSW: "Polisi"},
			{Code: "empty", NameEN: "Empty category", NameSW: "Kundi tupu"}},
		Services: []huduma.Service{
			svc(1001, "Ordinary passport 34 pages", "Pasipoti ya kawaida kurasa 34", "DIS", "immigration", 4550, id),
			svc(1002, "Ordinary passport 50 pages", "Pasipoti ya kawaida kurasa 50", "DIS", "immigration", 6050, id),
			svc(1003, "Diplomatic passport", "Pasipoti ya kidiplomasia", "DIS", "immigration", 7550, id),
			svc(1010, "East African travel document", "Hati ya kusafiri ya Afrika Mashariki", "DIS", "immigration", 390),
			svc(2001, "Driving licence renewal 3 years", "Kuhuisha leseni ya udereva miaka 3", "NTSA", "ntsa", 3050, id),
			svc(2002, "Provisional driving licence", "Leseni ya muda ya udereva", "NTSA", "ntsa", 650, id),
			svc(2003, "Motor vehicle search", "Utafutaji wa gari", "NTSA", "ntsa", 550, plate),
			svc(3001, "Birth certificate", "Cheti cha kuzaliwa", "CRS", "civil", 50),
			svc(3002, "Death certificate", "Cheti cha kifo", "CRS", "civil", 50),
			svc(4001, "Official land search", "Utafutaji rasmi wa ardhi", "MOL", "lands", 500),
			svc(5001, "Business name search", "Utafutaji wa jina la biashara", "BRS", "business", 150),
			svc(5002, "Business name registration", "Usajili wa jina la biashara", "BRS", "business", 950),
			svc(6001, "Certificate of good conduct", "Cheti cha tabia njema", "NPS", "police", 1050, id),
			{Code: 9001, NameEN: "Retired passport form", NameSW: "Fomu ya zamani", AgencyCode: "DIS", CategoryCode: "immigration", Fee: 100, Active: false},
		},
	}
	// Every service but two maps to an e-Citizen service ID (made up).
	for i := range c.Services {
		if code := c.Services[i].Code; code != 1010 && code != 9001 {
			c.Services[i].ECitizenServiceID = fmt.Sprintf("EC-%d", code)
		}
	}
	return c
}
