package luasrc

import "fmt"

// tokKind classifies a token.
type tokKind uint8

const (
	tEOF  tokKind = iota
	tName         // identifier or keyword
	tNumber
	tString
	tOp // operator or punctuation
)

// token is one lexical token; its text is src[start:end].
type token struct {
	kind       tokKind
	start, end int
	line       int // line of start
}

// scanner tokenises Lua 5.1 source the way gopher-lua's lexer does, so that
// line numbers and token boundaries agree with the compiler's. Whitespace and
// comments are skipped.
type scanner struct {
	src  string
	pos  int
	line int
}

func newScanner(src string) scanner { return scanner{src: src, line: 1} }

// newline consumes the line break at s.pos ("\n", "\r", "\r\n" or "\n\r").
func (s *scanner) newline() {
	c := s.src[s.pos]
	s.pos++
	s.line++
	if s.pos < len(s.src) {
		if d := s.src[s.pos]; (d == '\n' || d == '\r') && d != c {
			s.pos++
		}
	}
}

func isLetter(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isHex(c byte) bool    { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func (s *scanner) peek(off int) byte {
	if s.pos+off < len(s.src) {
		return s.src[s.pos+off]
	}
	return 0
}

// longLevel reports whether a long bracket "[", "="*level, "[" opens at p.
func longLevel(src string, p int) (level int, ok bool) {
	q := p + 1
	for q < len(src) && src[q] == '=' {
		q++
	}
	if q < len(src) && src[q] == '[' {
		return q - p - 1, true
	}
	return 0, false
}

// skipLong skips a long bracket of the given level opening at s.pos.
func (s *scanner) skipLong(level int, what string) error {
	line := s.line
	s.pos += level + 2
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case '\n', '\r':
			s.newline()
		case ']':
			q := s.pos + 1
			for q < len(s.src) && s.src[q] == '=' {
				q++
			}
			if q-s.pos-1 == level && q < len(s.src) && s.src[q] == ']' {
				s.pos = q + 1
				return nil
			}
			s.pos = q
		default:
			s.pos++
		}
	}
	return fmt.Errorf("luasrc: line %d: unterminated %s", line, what)
}

// skipNumber skips a numeral the way gopher-lua's scanNumber does. s.pos is
// at its first character (a digit, or a '.' followed by a digit).
func (s *scanner) skipNumber() {
	if s.src[s.pos] == '0' && (s.peek(1) == 'x' || s.peek(1) == 'X') {
		s.pos += 2
		for s.pos < len(s.src) && isHex(s.src[s.pos]) {
			s.pos++
		}
		return
	}
	s.pos++
	s.skipDigits()
	if s.peek(0) == '.' {
		s.pos++
		s.skipDigits()
	}
	if c := s.peek(0); c == 'e' || c == 'E' {
		s.pos++
		if c := s.peek(0); c == '-' || c == '+' {
			s.pos++
		}
		// gopher-lua takes the next character unconditionally.
		if s.pos < len(s.src) {
			if c := s.src[s.pos]; c == '\n' || c == '\r' {
				s.newline()
			} else {
				s.pos++
			}
		}
		s.skipDigits()
	}
}

func (s *scanner) skipDigits() {
	for s.pos < len(s.src) && isDigit(s.src[s.pos]) {
		s.pos++
	}
}

// next returns the next token, skipping whitespace and comments.
func (s *scanner) next() (token, error) {
	src := s.src
	for s.pos < len(src) {
		c := src[s.pos]
		start, line := s.pos, s.line
		switch {
		case c == ' ' || c == '\t':
			s.pos++
			continue
		case c == '\n' || c == '\r':
			s.newline()
			continue
		case isLetter(c):
			s.pos++
			for s.pos < len(src) && (isLetter(src[s.pos]) || isDigit(src[s.pos])) {
				s.pos++
			}
			return token{tName, start, s.pos, line}, nil
		case isDigit(c) || c == '.' && isDigit(s.peek(1)):
			s.skipNumber()
			return token{tNumber, start, s.pos, line}, nil
		}
		switch c {
		case '-':
			if s.peek(1) != '-' {
				s.pos++
				return token{tOp, start, s.pos, line}, nil
			}
			s.pos += 2
			if s.peek(0) == '[' {
				if level, ok := longLevel(src, s.pos); ok {
					if err := s.skipLong(level, "long comment"); err != nil {
						return token{}, err
					}
					continue
				}
			}
			for s.pos < len(src) && src[s.pos] != '\n' && src[s.pos] != '\r' {
				s.pos++
			}
			continue
		case '"', '\'':
			s.pos++
			for {
				if s.pos >= len(src) {
					return token{}, fmt.Errorf("luasrc: line %d: unterminated string", line)
				}
				d := src[s.pos]
				if d == c {
					s.pos++
					break
				}
				switch d {
				case '\n', '\r':
					return token{}, fmt.Errorf("luasrc: line %d: unterminated string", line)
				case '\\':
					s.pos++
					if s.pos < len(src) {
						if e := src[s.pos]; e == '\n' || e == '\r' {
							s.newline()
						} else {
							s.pos++
						}
					}
				default:
					s.pos++
				}
			}
			return token{tString, start, s.pos, line}, nil
		case '[':
			if level, ok := longLevel(src, s.pos); ok {
				if err := s.skipLong(level, "long string"); err != nil {
					return token{}, err
				}
				return token{tString, start, s.pos, line}, nil
			}
			if s.peek(1) == '=' {
				return token{}, fmt.Errorf("luasrc: line %d: invalid long string delimiter", line)
			}
			s.pos++
		case '.':
			s.pos++
			if s.peek(0) == '.' {
				s.pos++
				if s.peek(0) == '.' {
					s.pos++
				}
			}
		case ':':
			s.pos++
			if s.peek(0) == ':' {
				s.pos++
			}
		case '=', '~', '<', '>':
			s.pos++
			if s.peek(0) == '=' {
				s.pos++
			}
		default:
			s.pos++
		}
		return token{tOp, start, s.pos, line}, nil
	}
	return token{tEOF, s.pos, s.pos, s.line}, nil
}

// isKeyword reports whether name is a reserved word (gopher-lua also
// reserves goto).
func isKeyword(name string) bool {
	switch name {
	case "and", "break", "do", "else", "elseif", "end", "false", "for",
		"function", "goto", "if", "in", "local", "nil", "not", "or",
		"repeat", "return", "then", "true", "until", "while":
		return true
	}
	return false
}
