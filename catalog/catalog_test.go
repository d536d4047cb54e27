package catalog

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/huduma-ke/huduma"
)

func TestSample(t *testing.T) {
	c, err := Sample()
	if err != nil {
		t.Fatal(err)
	}
	if !c.Sample {
		t.Fatal("sample catalog is not marked as sample data")
	}
	if len(c.Services) < 130 || len(c.Categories) < 8 {
		t.Fatalf("sample has %d services in %d categories, want >= 130 in >= 8", len(c.Services), len(c.Categories))
	}
	per := map[string]int{}
	withID := 0
	ascii := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < ' ' || s[i] > '~' {
				return false
			}
		}
		return true
	}
	for _, s := range c.Services {
		per[s.CategoryCode]++
		if s.ECitizenServiceID != "" {
			withID++
		}
		if s.NameSW == "" || len(s.NameEN) > 120 || len(s.NameSW) > 120 || !ascii(s.NameEN+s.NameSW) {
			t.Errorf("service %d: names must be plain ASCII, <= 120 chars, in both languages", s.Code)
		}
		for _, in := range s.Inputs {
			if len(in.LabelEN) > 30 || len(in.LabelSW) > 32 || in.LabelSW == "" {
				t.Errorf("service %d input %s: labels too long or missing Kiswahili", s.Code, in.Key)
			}
		}
	}
	for _, k := range c.Categories {
		if k.NameSW == "" || per[k.Code] == 0 {
			t.Errorf("category %s lacks a Kiswahili name or services", k.Code)
		}
	}
	// Most sample services map to (made-up) e-Citizen service IDs; a few
	// do not, so the "not payable here yet" screen can be seen.
	if withID < len(c.Services)-10 || withID == len(c.Services) {
		t.Errorf("%d of %d sample services have an e-Citizen service ID", withID, len(c.Services))
	}
	if !reflect.DeepEqual(c.FeeBands, huduma.DefaultFeeBands) {
		t.Errorf("sample fee bands %v", c.FeeBands)
	}
}

func TestRoundTrip(t *testing.T) {
	c, _ := Sample()
	for _, format := range []string{"json", "csv"} {
		var buf bytes.Buffer
		if err := Encode(&buf, c, format); err != nil {
			t.Fatal(err)
		}
		got, err := Decode(&buf, format)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		want := c
		if format == "csv" {
			want.FeeBands, want.Sample = nil, false
		}
		if !reflect.DeepEqual(got.Services, want.Services) || got.FeeBands == nil != (want.FeeBands == nil) || got.Sample != want.Sample {
			t.Fatalf("%s round trip changed the catalog", format)
		}
		if len(got.Categories) != len(want.Categories) {
			t.Fatalf("%s: %d categories, want %d", format, len(got.Categories), len(want.Categories))
		}
	}
}

const header = "code,name_en,name_sw,agency_code,agency_name,category_code,category_name_en,category_name_sw,fee,active,inputs\n"

// TestCSVServiceID: the e-Citizen service ID is the CSV's last column,
// written and read back; a file from before it existed reads as services
// without one; an ID that cannot be one is refused with its line.
func TestCSVServiceID(t *testing.T) {
	withID := strings.TrimSuffix(header, "\n") + ",ecitizen_service_id\n"
	c, err := Decode(strings.NewReader(withID+"1,Birth,Kuzaliwa,CRS,Civil,civil,Civil,Raia,50,true,, 4001 \n2,Death,Kifo,CRS,Civil,civil,Civil,Raia,50,true,,\n"), "csv")
	if err != nil {
		t.Fatal(err)
	}
	if c.Services[0].ECitizenServiceID != "4001" || c.Services[1].ECitizenServiceID != "" {
		t.Fatalf("IDs read: %+v", c.Services)
	}
	var buf bytes.Buffer
	if err := Encode(&buf, c, "csv"); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(buf.String(), "\n"); lines[0]+"\n" != withID || !strings.HasSuffix(lines[1], ",4001") {
		t.Fatalf("written: %q", buf.String())
	}
	old, err := Decode(strings.NewReader(header+"1,Birth,Kuzaliwa,CRS,Civil,civil,Civil,Raia,50,true,\n"), "csv")
	if err != nil || old.Services[0].ECitizenServiceID != "" {
		t.Fatalf("a file without the column: %+v %v", old.Services, err)
	}
	for body, want := range map[string]string{
		withID + "1,Birth,Kuzaliwa,CRS,Civil,civil,Civil,Raia,50,true,,40 01\n": `e-Citizen service ID "40 01"`,
		withID + "1,Birth,Kuzaliwa,CRS,Civil,civil,Civil,Raia,50,true,\n":       "line 2",
		header + "1,Birth,Kuzaliwa,CRS,Civil,civil,Civil,Raia,50,true,,4001\n":  "line 2",
		strings.TrimSuffix(withID, "\n") + ",more\n":                            "header has 13 columns",
		strings.Replace(withID, "ecitizen_service_id", "service_id", 1):         `column 12 is "service_id"`,
	} {
		if _, err := Decode(strings.NewReader(body), "csv"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want containing %q", body, err, want)
		}
	}
	js := `{"agencies":[{"code":"A","name":"A"}],"categories":[{"code":"c","name_en":"C","name_sw":"C"}],` +
		`"services":[{"code":1,"name_en":"x","agency":"A","category":"c","fee":1,"active":true,"ecitizen_service_id":"a/b"}]}`
	if _, err := Decode(strings.NewReader(js), "json"); err == nil || !strings.Contains(err.Error(), `e-Citizen service ID "a/b"`) {
		t.Errorf("JSON with a bad ID: %v", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	cases := []struct {
		label, format, body, want string
	}{
		{"bad header", "csv", "code,name\n1,x\n", "header"},
		{"code not a number", "csv", header + "x1,Birth,Kuzaliwa,CRS,Civil,civil,Civil,Raia,50,true,\n", "line 2: column code"},
		{"fractional fee", "csv", header + "1,Birth,Kuzaliwa,CRS,Civil,civil,Civil,Raia,50.5,true,\n", "column fee"},
		{"bad active", "csv", header + "1,Birth,Kuzaliwa,CRS,Civil,civil,Civil,Raia,50,maybe,\n", "column active"},
		{"bad inputs json", "csv", header + "1,Birth,Kuzaliwa,CRS,Civil,civil,Civil,Raia,50,true,[{\n", "column inputs"},
		{"duplicate code", "csv", header + "1,A,A,CRS,Civil,civil,Civil,Raia,50,true,\n1,B,B,CRS,Civil,civil,Civil,Raia,50,true,\n", "appears twice"},
		{"agency renamed", "csv", header + "1,A,A,CRS,Civil,civil,Civil,Raia,50,true,\n2,B,B,CRS,Other,civil,Civil,Raia,50,true,\n", "agency CRS"},
		{"short row", "csv", header + "1,A\n", "wrong number of fields"},
		{"json syntax", "json", "{\n\"services\": [\n}", "line 3"},
		{"json unknown field", "json", `{"services":[{"code":1,"nmae_en":"x"}]}`, "unknown field"},
		{"json invalid", "json", `{"agencies":[],"categories":[],"services":[{"code":1,"name_en":"x","agency":"A","category":"c","fee":1,"active":true}]}`, "unknown agency"},
		{"json fractional fee", "json", `{"services":[{"code":1,"fee":10.5}]}`, "fee"},
		{"huge line", "csv", header + strings.Repeat("a", 10<<20), "line 2"},
		{"unknown format", "xml", "", "unknown catalog format"},
	}
	for _, tc := range cases {
		_, err := Decode(strings.NewReader(tc.body), tc.format)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want containing %q", tc.label, err, tc.want)
		}
	}
	if _, err := FormatFromPath("catalog.xlsx"); err == nil {
		t.Error("xlsx accepted")
	}
	if f, _ := FormatFromPath("/x/Catalog.CSV"); f != "csv" {
		t.Error("CSV extension not recognised")
	}
}

func TestGenerate(t *testing.T) {
	a, b := Generate(2000, 7), Generate(2000, 7)
	if len(a.Services) != 2000 || !reflect.DeepEqual(a, b) {
		t.Fatal("Generate is not deterministic or has the wrong size")
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.Services, Generate(2000, 8).Services) {
		t.Fatal("different seeds gave the same catalog")
	}
}
