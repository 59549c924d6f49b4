package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration file.
type Problem struct {
	Line  int    // 1-based line in the file, 0 when unknown
	Field string // dotted JSON path of the field, empty for the whole file
	Msg   string
}

// String formats the problem as "line N: field "f": message".
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Field != "" {
		fmt.Fprintf(&b, "field %q: ", p.Field)
	}
	b.WriteString(p.Msg)
	return b.String()
}

// FileError reports every problem found in one configuration file.
type FileError struct {
	What     string // what was being done, e.g. "loading OS definition"
	File     string // path relative to the repository root
	Problems []Problem
}

// Error names the file and lists every problem.
func (e *FileError) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("%s %q: %s", e.What, e.File, e.Problems[0])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q: %d problems:", e.What, e.File, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// decoder decodes JSON strictly into a struct, collecting every problem
// (unknown fields, wrong types, duplicates) with its line instead of stopping
// at the first, and remembering the line of every field for later validation.
type decoder struct {
	data     []byte
	problems []Problem
	lines    map[string]int // field path -> line of its key
}

// checkSyntax reports whether data is one JSON value. Numbers are not
// converted, so one too large for float64 is left to the field that gets
// it, which names itself.
func checkSyntax(data []byte) error {
	var raw json.RawMessage
	return json.Unmarshal(data, &raw)
}

// decodeStrict fills v (a pointer to a struct) from data. A syntax error is
// reported alone, with line and column, since nothing after it can be trusted.
func decodeStrict(data []byte, v any) *decoder {
	d := &decoder{data: data, lines: map[string]int{}}
	if err := checkSyntax(data); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := d.position(se.Offset)
			d.problems = append(d.problems, Problem{Msg: fmt.Sprintf("malformed JSON at line %d, column %d: %s", line, col, se.Error())})
		} else {
			d.problems = append(d.problems, Problem{Msg: "malformed JSON: " + err.Error()})
		}
		return d
	}
	d.object(data, 0, reflect.ValueOf(v).Elem(), "")
	return d
}

// position converts a byte offset into a 1-based line and column.
func (d *decoder) position(off int64) (line, col int) {
	if off > int64(len(d.data)) {
		off = int64(len(d.data))
	}
	before := d.data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}

// lineAt returns the line of the first token at or after off.
func (d *decoder) lineAt(off int64) int {
	for off < int64(len(d.data)) && strings.IndexByte(" \t\r\n,:", d.data[off]) >= 0 {
		off++
	}
	line, _ := d.position(off)
	return line
}

func (d *decoder) add(line int, path, format string, args ...any) {
	d.problems = append(d.problems, Problem{Line: line, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// object decodes the JSON object raw (which starts at base in d.data) into
// the struct or map value v.
func (d *decoder) object(raw []byte, base int64, v reflect.Value, path string) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, _ := dec.Token()
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		d.add(d.lineAt(base), path, "want an object, got %s", jsonKind(raw))
		return
	}
	fields := map[string]reflect.Value{}
	var names []string
	if v.Kind() == reflect.Struct {
		for i := 0; i < v.NumField(); i++ {
			name := jsonName(v.Type().Field(i))
			if name == "" {
				continue
			}
			fields[name] = v.Field(i)
			names = append(names, name)
		}
	} else if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]bool{}
	for dec.More() {
		keyOff := base + dec.InputOffset()
		keyTok, err := dec.Token()
		if err != nil {
			return // cannot happen after the syntax check
		}
		key := keyTok.(string)
		valOff := base + dec.InputOffset()
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return
		}
		if strings.HasPrefix(key, "//") {
			continue // a comment, as in templates/site.json.example
		}
		full := key
		if path != "" {
			full = path + "." + key
		}
		line := d.lineAt(keyOff)
		if seen[key] {
			d.add(line, full, "given more than once")
			continue
		}
		seen[key] = true
		d.lines[full] = line
		valStart := valOff + int64(bytes.IndexFunc(d.data[valOff:], func(r rune) bool { return !strings.ContainsRune(" \t\r\n:", r) }))

		if v.Kind() == reflect.Map {
			elem := reflect.New(v.Type().Elem()).Elem()
			d.value(val, valStart, elem, full, line)
			v.SetMapIndex(reflect.ValueOf(key), elem)
			continue
		}
		f, ok := fields[key]
		if !ok {
			msg := "unknown field"
			if s := closest(key, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += fmt.Sprintf(" (known fields: %s)", strings.Join(sorted(names), ", "))
			}
			d.add(line, full, "%s", msg)
			continue
		}
		d.value(val, valStart, f, full, line)
	}
}

// value decodes one JSON value into f, recursing into nested objects.
func (d *decoder) value(raw []byte, off int64, f reflect.Value, path string, line int) {
	_, custom := f.Addr().Interface().(json.Unmarshaler)
	if !custom && (f.Kind() == reflect.Struct || f.Kind() == reflect.Map) {
		d.object(raw, off, f, path)
		return
	}
	if quoted, ok := packerString(raw, f.Kind()); ok {
		if !setFromString(f, quoted) {
			d.add(line, path, "want %s, got %q", describe(f.Type()), quoted)
		}
		return
	}
	if err := json.Unmarshal(raw, f.Addr().Interface()); err != nil {
		d.add(line, path, "want %s, got %s", describe(f.Type()), jsonKind(raw))
	}
}

// packerString returns the text of raw when it is a JSON string given for a
// boolean or whole-number field: the original project's site files hold
// Packer user variables, which are all strings ("headless": "true",
// "disk_size": "8192").
func packerString(raw []byte, kind reflect.Kind) (string, bool) {
	switch kind {
	case reflect.Bool, reflect.Int, reflect.Int64, reflect.Int32:
	default:
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// setFromString sets the boolean or whole-number f from its string form,
// as Packer read user variables: "true"/"false" (strconv.ParseBool) and
// decimal numbers. It reports whether s was one.
func setFromString(f reflect.Value, s string) bool {
	if f.Kind() == reflect.Bool {
		b, err := strconv.ParseBool(s)
		if err == nil {
			f.SetBool(b)
		}
		return err == nil
	}
	n, err := strconv.ParseInt(s, 10, f.Type().Bits())
	if err == nil {
		f.SetInt(n)
	}
	return err == nil
}

func jsonName(sf reflect.StructField) string {
	tag := sf.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" || !sf.IsExported() {
		return ""
	}
	if name == "" {
		return sf.Name
	}
	return name
}

// describe names the JSON a Go type expects, for error messages.
func describe(t reflect.Type) string {
	if t == reflect.TypeOf(StringList(nil)) {
		return "a string or a list of strings"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return `true or false (or "true" or "false")`
	case reflect.Int, reflect.Int64, reflect.Int32:
		return `a whole number (or one in quotes, such as "8192")`
	case reflect.Uint, reflect.Uint64:
		return "a whole number"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(describe(t.Elem()), "a ") + "s"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

// jsonKind names the kind of a raw JSON value, for error messages.
func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "the number " + string(raw)
}

// closest suggests the known name nearest to name, if it is near enough to be
// a plausible typo: the only known name it is a prefix of, else the one at
// the smallest edit distance.
func closest(name string, known []string) string {
	lower := strings.ToLower(name)
	var prefixed []string
	for _, k := range known {
		if strings.HasPrefix(strings.ToLower(k), lower) {
			prefixed = append(prefixed, k)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	best, bestDist := "", len(name)/2+2
	for _, k := range known {
		if dist := levenshtein(lower, strings.ToLower(k)); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
