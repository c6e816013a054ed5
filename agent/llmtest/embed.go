package llmtest

import (
	"hash/fnv"
	"math"
	"strings"
	"unicode"
)

// BagOfWords returns deterministic fake embeddings of dim dimensions for
// Server.Embeddings: each word (lower-cased, split at anything but letters
// and digits and at camelCase humps, words of fewer than three letters
// dropped) adds 1 to the dimension its FNV hash picks; the vector is
// normalised. Texts that share words get a high cosine, texts that share
// none a cosine near 0 — enough to test retrieval without a model.
func BagOfWords(dim int) func(input []string) [][]float32 {
	return func(input []string) [][]float32 {
		out := make([][]float32, len(input))
		for i, text := range input {
			v := make([]float32, dim)
			for _, w := range Words(text) {
				h := fnv.New32a()
				h.Write([]byte(w))
				v[h.Sum32()%uint32(dim)]++
			}
			var s float64
			for _, x := range v {
				s += float64(x) * float64(x)
			}
			if s > 0 {
				n := float32(1 / math.Sqrt(s))
				for j := range v {
					v[j] *= n
				}
			}
			out[i] = v
		}
		return out
	}
}

// Words splits text as BagOfWords does.
func Words(text string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) >= 3 {
			words = append(words, strings.ToLower(string(cur)))
		}
		cur = cur[:0]
	}
	prevLower := false
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if unicode.IsUpper(r) && prevLower {
				flush()
			}
			cur = append(cur, r)
			prevLower = unicode.IsLower(r)
		default:
			flush()
			prevLower = false
		}
	}
	flush()
	return words
}
