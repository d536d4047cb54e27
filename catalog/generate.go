package catalog

import (
	"fmt"
	"math/rand/v2"

	"github.com/huduma-ke/huduma"
)

// Word lists for synthetic names: shared words ("licence", "certificate",
// "renewal") make search work as hard as on the real catalog, where many
// names overlap.
var (
	genWhat = []struct{ en, sw string }{
		{"licence", "leseni"}, {"certificate", "cheti"}, {"permit", "kibali"}, {"registration", "usajili"},
		{"search", "utafutaji"}, {"renewal", "uhuishaji"}, {"approval", "idhini"}, {"clearance", "kibali cha kutoa"},
		{"inspection", "ukaguzi"}, {"transfer", "uhamisho"}, {"replacement", "ubadilishaji"}, {"assessment", "tathmini"},
	}
	genOf = []struct{ en, sw string }{
		{"business", "biashara"}, {"land", "ardhi"}, {"vehicle", "gari"}, {"passport", "pasipoti"}, {"health facility", "kituo cha afya"},
		{"liquor", "pombe"}, {"fishing", "uvuvi"}, {"water", "maji"}, {"mining", "uchimbaji madini"}, {"building", "jengo"},
		{"school", "shule"}, {"pharmacy", "duka la dawa"}, {"export", "usafirishaji nje"}, {"import", "uagizaji"},
		{"marriage", "ndoa"}, {"birth", "kuzaliwa"}, {"firearm", "silaha"}, {"tourism", "utalii"}, {"forest", "msitu"}, {"energy", "nishati"},
	}
	genWhere = []struct{ en, sw string }{
		{"Nairobi", "Nairobi"}, {"Mombasa", "Mombasa"}, {"Kisumu", "Kisumu"}, {"Nakuru", "Nakuru"}, {"Eldoret", "Eldoret"},
		{"Machakos", "Machakos"}, {"Nyeri", "Nyeri"}, {"Garissa", "Garissa"}, {"Kakamega", "Kakamega"}, {"Kitui", "Kitui"},
		{"county", "kaunti"}, {"national", "kitaifa"}, {"annual", "ya mwaka"}, {"temporary", "ya muda"},
	}
)

// SearchQueries returns realistic searches over a Generate catalog,
// typos, Kiswahili and several words included: the query mix of the
// search benchmarks (store/storetest, store/trigram).
func SearchQueries() []string {
	return []string{"passport", "pasport renewal", "liquor licence nairobi", "cheti cha ndoa", "firearm", "land serch", "leseni ya biashara"}
}

// Generate returns a deterministic synthetic catalog of n services for
// benchmarks, using the sample's agencies and categories. It is marked
// Sample.
func Generate(n int, seed int64) huduma.Catalog {
	base, err := Sample()
	if err != nil {
		panic(fmt.Sprintf("sample catalog is broken: %v", err))
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x68756475))
	c := huduma.Catalog{Sample: true, FeeBands: base.FeeBands, Agencies: base.Agencies, Categories: base.Categories}
	c.Services = make([]huduma.Service, 0, n)
	for i := 0; i < n; i++ {
		what := genWhat[rng.IntN(len(genWhat))]
		of := genOf[rng.IntN(len(genOf))]
		where := genWhere[rng.IntN(len(genWhere))]
		c.Services = append(c.Services, huduma.Service{
			Code:         100000 + i,
			NameEN:       fmt.Sprintf("%s %s %s %d", capitalise(of.en), what.en, where.en, i%97),
			NameSW:       fmt.Sprintf("%s ya %s %s %d", capitalise(what.sw), of.sw, where.sw, i%97),
			AgencyCode:   base.Agencies[rng.IntN(len(base.Agencies))].Code,
			CategoryCode: base.Categories[rng.IntN(len(base.Categories))].Code,
			Fee:          int64(50 * (1 + rng.IntN(200))),
			Active:       true,
			// One input, as most real services ask, so a generated
			// journey runs search → service → input → confirm like the
			// load run's peer.
			Inputs: []huduma.Input{{Key: "id_number", LabelEN: "ID number", LabelSW: "Nambari ya kitambulisho", Kind: huduma.KindIDNumber}},
		})
	}
	return c
}

func capitalise(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-32) + s[1:]
}
