package luasrc

import (
	"errors"
	"fmt"
	"strings"
)

// Func is one `function` keyword occurrence in a chunk.
//
// Line is the line of the `function` keyword. gopher-lua's LineDefined is
// that line for an anonymous function expression, but for a definition
// statement (named or local) it is the line of the '(' at ParamsStart; the
// two differ only when the header is split across lines.
type Func struct {
	Start, End     int      // byte offsets: Start at the 'f' of `function`, End just after the matching `end` (exclusive)
	Line, LastLine int      // 1-based lines of Start and of the matching `end`
	Name           string   // for a definition statement: the full name as written, e.g. "Account:deposit", "a.b.c", "f"; "" for an anonymous function expression
	Receiver       string   // for "a.b:c" -> "a.b"; for "a.b.c" -> "a.b"; for "f" -> ""
	Selector       string   // last name component: "c"; "" if anonymous
	Method         bool     // the name uses ':' (implicit self)
	Local          bool     // `local function f` (Name "f")
	Params         []string // parameter names as written, "..." included if vararg; NOT including the implicit self
	ParamsStart    int      // offset of '('
}

// Block kinds on the scanner's stack.
const (
	bFunction = iota
	bDo
	bIf
	bRepeat
)

var blockWord = [...]string{bFunction: "function", bDo: "do", bIf: "if", bRepeat: "repeat"}

type block struct {
	kind int
	line int
	fn   int // index into the result for bFunction
}

// Funcs returns every function in src in source order (the order of their
// `function` keywords), nested ones included.
// It returns an error naming the line for an unterminated string/comment or a
// `function` without a matching `end`, and for other block mismatches or a
// malformed function header.
func Funcs(src string) ([]Func, error) {
	s := newScanner(src)
	var funcs []Func
	var stack []block
	var prev token // last significant token
	for {
		t, err := s.next()
		if err != nil {
			return nil, err
		}
		if t.kind == tEOF {
			break
		}
		if t.kind != tName || isFieldOp(src, prev) {
			prev = t
			continue
		}
		switch src[t.start:t.end] {
		case "function":
			f := Func{Start: t.start, Line: t.line}
			f.Local = prev.kind == tName && src[prev.start:prev.end] == "local"
			last, err := s.header(&f)
			if err != nil {
				return nil, err
			}
			funcs = append(funcs, f)
			stack = append(stack, block{bFunction, t.line, len(funcs) - 1})
			prev = last
			continue
		case "do":
			stack = append(stack, block{kind: bDo, line: t.line})
		case "if":
			stack = append(stack, block{kind: bIf, line: t.line})
		case "repeat":
			stack = append(stack, block{kind: bRepeat, line: t.line})
		case "end", "until":
			word := src[t.start:t.end]
			if len(stack) == 0 {
				return nil, fmt.Errorf("luasrc: line %d: unexpected '%s'", t.line, word)
			}
			b := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if (word == "until") != (b.kind == bRepeat) {
				return nil, fmt.Errorf("luasrc: line %d: '%s' does not close '%s' at line %d", t.line, word, blockWord[b.kind], b.line)
			}
			if b.kind == bFunction {
				funcs[b.fn].End = t.end
				funcs[b.fn].LastLine = t.line
			}
		}
		prev = t
	}
	if len(stack) > 0 {
		b := stack[len(stack)-1]
		closer := "end"
		if b.kind == bRepeat {
			closer = "until"
		}
		return nil, fmt.Errorf("luasrc: line %d: '%s' without a matching '%s'", b.line, blockWord[b.kind], closer)
	}
	return funcs, nil
}

// isFieldOp reports whether t is a single '.' or ':', after which a keyword
// is only a name.
func isFieldOp(src string, t token) bool {
	return t.kind == tOp && t.end-t.start == 1 && (src[t.start] == '.' || src[t.start] == ':')
}

// header parses the optional function name and the parameter list that
// follow a `function` keyword, filling in f. It returns the closing ')'.
func (s *scanner) header(f *Func) (token, error) {
	src := s.src
	line := s.line
	bad := func(t token, what string) error {
		near := "end of input"
		if t.kind != tEOF {
			near = "'" + src[t.start:t.end] + "'"
		}
		return fmt.Errorf("luasrc: line %d: malformed function header at line %d: %s expected near %s", t.line, line, what, near)
	}
	isName := func(t token) bool { return t.kind == tName && !isKeyword(src[t.start:t.end]) }
	isOp := func(t token, op string) bool { return t.kind == tOp && src[t.start:t.end] == op }

	t, err := s.next()
	if err != nil {
		return t, err
	}
	if isName(t) {
		nameStart, nameEnd := t.start, t.end
		contiguous := true
		var parts []token // name, sep, name, sep, name ...
		parts = append(parts, t)
		for {
			if t, err = s.next(); err != nil {
				return t, err
			}
			if f.Local || !(isOp(t, ".") || isOp(t, ":")) {
				break
			}
			sep := t
			if t, err = s.next(); err != nil {
				return t, err
			}
			if !isName(t) {
				return t, bad(t, "name")
			}
			contiguous = contiguous && sep.start == nameEnd && t.start == sep.end
			nameEnd = t.end
			parts = append(parts, sep, t)
			if src[sep.start] == ':' {
				f.Method = true
				if t, err = s.next(); err != nil {
					return t, err
				}
				break
			}
		}
		if contiguous {
			f.Name = src[nameStart:nameEnd]
		} else {
			var b strings.Builder
			for _, p := range parts {
				b.WriteString(src[p.start:p.end])
			}
			f.Name = b.String()
		}
		i := strings.LastIndexAny(f.Name, ".:")
		f.Receiver, f.Selector = f.Name[:max(i, 0)], f.Name[i+1:]
	} else if f.Local {
		return t, bad(t, "name")
	}
	if !isOp(t, "(") {
		return t, bad(t, "'('")
	}
	f.ParamsStart = t.start
	if t, err = s.next(); err != nil {
		return t, err
	}
	if isOp(t, ")") {
		return t, nil
	}
	for {
		switch {
		case isName(t):
			f.Params = append(f.Params, src[t.start:t.end])
		case isOp(t, "..."):
			f.Params = append(f.Params, "...")
			if t, err = s.next(); err != nil {
				return t, err
			}
			if !isOp(t, ")") {
				return t, bad(t, "')'")
			}
			return t, nil
		default:
			return t, bad(t, "parameter name")
		}
		if t, err = s.next(); err != nil {
			return t, err
		}
		if isOp(t, ")") {
			return t, nil
		}
		if !isOp(t, ",") {
			return t, bad(t, "',' or ')'")
		}
		if t, err = s.next(); err != nil {
			return t, err
		}
	}
}

// Expression turns the source of one function (either a definition statement
// such as "function Account:deposit(n) ... end" / "function Account.new(x) ...
// end" or an anonymous "function(self, n) ... end") into an anonymous function
// expression with the same body and the same line structure (the body stays
// on the same lines, so compiled line numbers match the original):
// "function Account:deposit(n)" -> "function(self, n)", "function Account:f()"
// -> "function(self)", "function A.f(x)" -> "function(x)". It returns the Func
// describing src's outermost function.
//
// Leading/trailing whitespace and comments around the function are allowed
// and kept; anything else, including `local function`, is an error. An
// anonymous function is returned unchanged. If a definition's header spans
// lines, the line breaks between `function` and '(' are moved in front of
// `function` (so the expression's LineDefined equals the definition's) and
// those inside the parameter list follow the ')'.
func Expression(src string) (string, Func, error) {
	funcs, err := Funcs(src)
	if err != nil {
		return "", Func{}, err
	}
	if len(funcs) == 0 {
		return "", Func{}, errors.New("luasrc: no function in source")
	}
	f := funcs[0]
	s := newScanner(src)
	t, err := s.next()
	if err != nil {
		return "", Func{}, err
	}
	if t.start != f.Start {
		return "", f, fmt.Errorf("luasrc: line %d: unexpected '%s' before function", t.line, src[t.start:t.end])
	}
	s = scanner{src: src, pos: f.End, line: f.LastLine}
	if t, err = s.next(); err != nil {
		return "", f, err
	}
	if t.kind != tEOF {
		return "", f, fmt.Errorf("luasrc: line %d: unexpected '%s' after function", t.line, src[t.start:t.end])
	}
	if f.Local {
		return "", f, fmt.Errorf("luasrc: line %d: local function %s is not a method", f.Line, f.Name)
	}
	if f.Name == "" {
		return src, f, nil
	}
	// Find the end of the parameter list.
	s = scanner{src: src, pos: f.ParamsStart, line: 1}
	for {
		if t, err = s.next(); err != nil {
			return "", f, err
		}
		if t.kind == tOp && src[t.start] == ')' {
			break
		}
	}
	var b strings.Builder
	b.Grow(len(src))
	b.WriteString(src[:f.Start])
	writeNewlines(&b, src[f.Start:f.ParamsStart])
	b.WriteString("function(")
	if f.Method {
		b.WriteString("self")
		if len(f.Params) > 0 {
			b.WriteString(", ")
		}
	}
	b.WriteString(strings.Join(f.Params, ", "))
	b.WriteString(")")
	writeNewlines(&b, src[f.ParamsStart:t.end])
	b.WriteString(src[t.end:])
	return b.String(), f, nil
}

// writeNewlines writes one "\n" for each line break in s.
func writeNewlines(b *strings.Builder, s string) {
	sc := scanner{src: s}
	for sc.pos < len(s) {
		if c := s[sc.pos]; c == '\n' || c == '\r' {
			sc.newline()
			b.WriteByte('\n')
		} else {
			sc.pos++
		}
	}
}

// Header renders a definition header for display and fileout:
// Header("Account", "deposit", []string{"n"}) == "function Account:deposit(n)".
// With an empty receiver it renders a plain "function deposit(n)".
func Header(receiver, selector string, params []string) string {
	name := selector
	if receiver != "" {
		name = receiver + ":" + selector
	}
	return "function " + name + "(" + strings.Join(params, ", ") + ")"
}
