package remote

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecode checks that Decode never panics, that every error is a
// *DecodeError with a JSON-RPC code, and that whatever decodes re-encodes
// to one line that decodes to the same message.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1,"token":"t"}}`,
		`{"jsonrpc":"2.0","id":"a","method":"eval","params":{"code":"1 + 2"}}`,
		`{"jsonrpc":"2.0","method":"transcript","params":{"text":"hi\n"}}`,
		`{"jsonrpc":"2.0","id":2,"result":{"values":["3"]}}`,
		`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`,
		`{"jsonrpc":"1.0","id":1,"method":"eval"}`,
		`{"jsonrpc":"2.0","id":{},"method":"eval"}`,
		`{"jsonrpc":"2.0","id":1,"method":"eval","params":3}`,
		`{"jsonrpc":"2.0","id":1}`,
		`{} {}`,
		`not json`,
		`[1,2,3]`,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := Decode(frame)
		if err != nil {
			var de *DecodeError
			if m != nil || !errors.As(err, &de) || de.Code > -32000 || de.Code < -32768 {
				t.Fatalf("Decode(%q) = %v, %v", frame, m, err)
			}
			return
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode of a decoded message: %v", err)
		}
		if bytes.IndexByte(enc, '\n') != len(enc)-1 {
			t.Fatalf("encoded frame is not one line: %q", enc)
		}
		m2, err := Decode(enc[:len(enc)-1])
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", enc, err)
		}
		if m.Method != m2.Method || !sameJSON(m.ID, m2.ID) || !sameJSON(m.Params, m2.Params) || !sameJSON(m.Result, m2.Result) || (m.Error == nil) != (m2.Error == nil) {
			t.Fatalf("round trip differs:\n %+v\n %+v", m, m2)
		}
	})
}

func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
