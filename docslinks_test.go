package huduma

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// mdLink is a Markdown link or image target: the part in parentheses after
// the closing bracket, up to a space (a title) or the closing parenthesis.
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// inlineCode is a code span, whose brackets and parentheses are not links.
var inlineCode = regexp.MustCompile("`[^`]*`")

// headingSlug is the anchor GitHub gives a heading: lower case, spaces as
// hyphens, and everything but letters, digits, hyphens and underscores
// dropped.
func headingSlug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// markdownDoc is what the link check needs of one Markdown file: its
// links outside code and the anchors of its headings.
type markdownDoc struct {
	links   []string
	anchors map[string]bool
}

// readMarkdown reads links and heading anchors, skipping fenced code
// blocks (a `# comment` in a shell block is no heading) and code spans.
func readMarkdown(src string) markdownDoc {
	d := markdownDoc{anchors: map[string]bool{}}
	seen := map[string]int{}
	fenced := false
	for _, line := range strings.Split(src, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		if h, ok := strings.CutPrefix(line, "#"); ok {
			slug := headingSlug(strings.TrimLeft(h, "#"))
			// GitHub numbers a repeated heading's anchor: x, x-1, x-2.
			if n := seen[slug]; n > 0 {
				d.anchors[slug+"-"+strconv.Itoa(n)] = true
			} else {
				d.anchors[slug] = true
			}
			seen[slug]++
		}
		for _, m := range mdLink.FindAllStringSubmatch(inlineCode.ReplaceAllString(line, "``"), -1) {
			d.links = append(d.links, m[1])
		}
	}
	return d
}

func TestHeadingSlug(t *testing.T) {
	for heading, want := range map[string]string{
		" Paying: invoices and M-Pesa":       "paying-invoices-and-m-pesa",
		"Redis high availability (Sentinel)": "redis-high-availability-sentinel",
		"Huduma — e-Citizen over USSD":       "huduma--e-citizen-over-ussd",
		"`huduma sim`, the terminal phone":   "huduma-sim-the-terminal-phone",
		"A finance officer's day":            "a-finance-officers-day",
	} {
		if got := headingSlug(heading); got != want {
			t.Errorf("headingSlug(%q) = %q, want %q", heading, got, want)
		}
	}
	d := readMarkdown("# Top\n```sh\n# not a heading\n[x](in-code.md)\n```\n## Top\nsee [a](b.md#top-1) and `[c](d.md)`\n")
	if !d.anchors["top"] || !d.anchors["top-1"] || d.anchors["not-a-heading"] {
		t.Errorf("anchors %v", d.anchors)
	}
	if len(d.links) != 1 || d.links[0] != "b.md#top-1" {
		t.Errorf("links %q", d.links)
	}
}

// TestDocLinksResolve: every relative link in README.md and docs/*.md
// names a file in the repository, and an anchor in a Markdown file names
// one of its headings, so moving a section cannot leave a reader at a
// dead link.
func TestDocLinksResolve(t *testing.T) {
	files, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{"README.md"}, files...)
	docs := map[string]markdownDoc{}
	read := func(path string) (markdownDoc, error) {
		if d, ok := docs[path]; ok {
			return d, nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return markdownDoc{}, err
		}
		docs[path] = readMarkdown(string(src))
		return docs[path], nil
	}
	checked := 0
	for _, f := range files {
		d, err := read(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, link := range d.links {
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			checked++
			path, anchor, _ := strings.Cut(link, "#")
			target := f
			if path != "" {
				target = filepath.Join(filepath.Dir(f), filepath.FromSlash(path))
			}
			if _, err := os.Stat(target); err != nil {
				t.Errorf("%s: link %q: %s does not exist", f, link, target)
				continue
			}
			if anchor == "" || !strings.HasSuffix(target, ".md") {
				continue
			}
			td, err := read(target)
			if err != nil {
				t.Errorf("%s: link %q: %v", f, link, err)
				continue
			}
			if !td.anchors[anchor] {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s", f, link, target, anchor)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative links found: the reader is broken")
	}
}

// TestEveryDocIsInTheIndex: every page under docs/ is linked from the
// README, so a reader who starts there can reach each one.
func TestEveryDocIsInTheIndex(t *testing.T) {
	src, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	linked := map[string]bool{}
	for _, link := range readMarkdown(string(src)).links {
		path, _, _ := strings.Cut(link, "#")
		linked[filepath.Clean(path)] = true
	}
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no pages under docs/")
	}
	for _, p := range pages {
		if !linked[p] {
			t.Errorf("%s is not linked from README.md", p)
		}
	}
}
