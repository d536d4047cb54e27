// Package catalog reads and writes service catalogs (JSON and CSV), ships
// the sample catalog that loads on first start, and generates large
// synthetic catalogs for benchmarks.
package catalog

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/huduma-ke/huduma"
)

//go:embed sample.json
var sampleJSON []byte

// Sample returns the shipped sample catalog. It is marked Sample: its
// names and fees are illustrative, not the official e-Citizen catalog.
func Sample() (huduma.Catalog, error) {
	return Decode(bytes.NewReader(sampleJSON), "json")
}

// maxBytes caps what Decode reads; the real catalog (14,000 services) is a
// few megabytes.
const maxBytes = 64 << 20

// FormatFromPath picks the format by file extension.
func FormatFromPath(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return "json", nil
	case ".csv":
		return "csv", nil
	}
	return "", fmt.Errorf("catalog file %q: want a .json or .csv file", path)
}

// document is the JSON file shape: a Catalog plus an optional note.
type document struct {
	Note string `json:"_note,omitempty"`
	huduma.Catalog
}

// Decode reads a catalog in format ("json" or "csv") and validates it.
func Decode(r io.Reader, format string) (huduma.Catalog, error) {
	r = io.LimitReader(r, maxBytes+1)
	var c huduma.Catalog
	var err error
	switch format {
	case "json":
		c, err = decodeJSON(r)
	case "csv":
		c, err = decodeCSV(r)
	default:
		return c, fmt.Errorf("unknown catalog format %q (want json or csv)", format)
	}
	if err != nil {
		return huduma.Catalog{}, err
	}
	if err := c.Validate(); err != nil {
		return huduma.Catalog{}, fmt.Errorf("invalid catalog: %w", err)
	}
	return c, nil
}

func decodeJSON(r io.Reader) (huduma.Catalog, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return huduma.Catalog{}, fmt.Errorf("read catalog: %w", err)
	}
	if len(body) > maxBytes {
		return huduma.Catalog{}, fmt.Errorf("catalog is larger than %d bytes", maxBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var doc document
	if err := dec.Decode(&doc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := bytes.Count(body[:se.Offset], []byte("\n")) + 1
			return huduma.Catalog{}, fmt.Errorf("catalog JSON line %d: %w", line, err)
		}
		return huduma.Catalog{}, fmt.Errorf("catalog JSON: %w", err)
	}
	return doc.Catalog, nil
}

// csvHeader is the CSV layout: one row per service; agencies and
// categories are taken from the rows; inputs is a JSON array;
// ecitizen_service_id is the service's e-Citizen serviceID (empty: none).
// A file without the last column (written before it existed) reads as
// services without one.
var csvHeader = []string{"code", "name_en", "name_sw", "agency_code", "agency_name", "category_code",
	"category_name_en", "category_name_sw", "fee", "active", "inputs", "ecitizen_service_id"}

func decodeCSV(r io.Reader) (huduma.Catalog, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return huduma.Catalog{}, fmt.Errorf("catalog CSV header: %w", err)
	}
	if len(header) != len(csvHeader) && len(header) != len(csvHeader)-1 {
		return huduma.Catalog{}, fmt.Errorf("catalog CSV header has %d columns, want %d (header: %s)", len(header), len(csvHeader), strings.Join(csvHeader, ","))
	}
	cr.FieldsPerRecord = len(header)
	for i, want := range csvHeader[:len(header)] {
		if strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff")) != want {
			return huduma.Catalog{}, fmt.Errorf("catalog CSV header column %d is %q, want %q (header: %s)", i+1, header[i], want, strings.Join(csvHeader, ","))
		}
	}
	var c huduma.Catalog
	agencies := map[string]huduma.Agency{}
	cats := map[string]huduma.Category{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return huduma.Catalog{}, fmt.Errorf("catalog CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		sv, ag, cat, err := parseRow(rec)
		if err != nil {
			return huduma.Catalog{}, fmt.Errorf("catalog CSV line %d: %w", line, err)
		}
		if prev, ok := agencies[ag.Code]; ok && prev != ag {
			return huduma.Catalog{}, fmt.Errorf("catalog CSV line %d: agency %s named %q here but %q before", line, ag.Code, ag.Name, prev.Name)
		} else if !ok {
			agencies[ag.Code] = ag
			c.Agencies = append(c.Agencies, ag)
		}
		if prev, ok := cats[cat.Code]; ok && prev != cat {
			return huduma.Catalog{}, fmt.Errorf("catalog CSV line %d: category %s named differently than on an earlier row", line, cat.Code)
		} else if !ok {
			cats[cat.Code] = cat
			c.Categories = append(c.Categories, cat)
		}
		c.Services = append(c.Services, sv)
	}
	return c, nil
}

func parseRow(rec []string) (huduma.Service, huduma.Agency, huduma.Category, error) {
	var sv huduma.Service
	field := func(name string) string {
		for i, h := range csvHeader[:len(rec)] {
			if h == name {
				return strings.TrimSpace(rec[i])
			}
		}
		return ""
	}
	code, err := strconv.Atoi(field("code"))
	if err != nil {
		return sv, huduma.Agency{}, huduma.Category{}, fmt.Errorf("column code: %q is not a whole number", field("code"))
	}
	fee, err := strconv.ParseInt(field("fee"), 10, 64)
	if err != nil {
		return sv, huduma.Agency{}, huduma.Category{}, fmt.Errorf("column fee: %q is not whole shillings", field("fee"))
	}
	active, err := strconv.ParseBool(field("active"))
	if err != nil {
		return sv, huduma.Agency{}, huduma.Category{}, fmt.Errorf("column active: %q is not true or false", field("active"))
	}
	sv = huduma.Service{Code: code, NameEN: field("name_en"), NameSW: field("name_sw"), AgencyCode: field("agency_code"),
		CategoryCode: field("category_code"), Fee: fee, Active: active, ECitizenServiceID: field("ecitizen_service_id")}
	if in := field("inputs"); in != "" {
		dec := json.NewDecoder(strings.NewReader(in))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sv.Inputs); err != nil {
			return sv, huduma.Agency{}, huduma.Category{}, fmt.Errorf("column inputs: %w", err)
		}
	}
	return sv, huduma.Agency{Code: sv.AgencyCode, Name: field("agency_name")},
		huduma.Category{Code: sv.CategoryCode, NameEN: field("category_name_en"), NameSW: field("category_name_sw")}, nil
}

// Encode writes c in format ("json" or "csv"). CSV has no place for the
// convenience-fee table or the sample flag.
func Encode(w io.Writer, c huduma.Catalog, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		if err := enc.Encode(c); err != nil {
			return fmt.Errorf("write catalog JSON: %w", err)
		}
		return nil
	case "csv":
		return encodeCSV(w, c)
	}
	return fmt.Errorf("unknown catalog format %q (want json or csv)", format)
}

func encodeCSV(w io.Writer, c huduma.Catalog) error {
	agencies := map[string]string{}
	for _, a := range c.Agencies {
		agencies[a.Code] = a.Name
	}
	cats := map[string]huduma.Category{}
	for _, k := range c.Categories {
		cats[k.Code] = k
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("write catalog CSV: %w", err)
	}
	for _, s := range c.Services {
		inputs := ""
		if len(s.Inputs) > 0 {
			b, err := json.Marshal(s.Inputs)
			if err != nil {
				return fmt.Errorf("encode inputs of %d: %w", s.Code, err)
			}
			inputs = string(b)
		}
		k := cats[s.CategoryCode]
		if err := cw.Write([]string{strconv.Itoa(s.Code), s.NameEN, s.NameSW, s.AgencyCode, agencies[s.AgencyCode],
			s.CategoryCode, k.NameEN, k.NameSW, strconv.FormatInt(s.Fee, 10), strconv.FormatBool(s.Active), inputs, s.ECitizenServiceID}); err != nil {
			return fmt.Errorf("write catalog CSV: %w", err)
		}
	}
	cw.Flush()
	return cw.Error()
}
