// Package memory is the agent's long-term memory (the RAG store): accepted
// methods with what they were for, conversations and plans are remembered,
// and the DNU resolver and the planner search them for similar past work
// to put in their prompts.
//
// Store is the interface; Item is what is remembered and Hit what a search
// finds. Two backends implement it:
//
//   - Embedded (the default): the items live in the image (its r/ keyspace,
//     through the small Persister interface that *image.Image implements),
//     so they survive a restart and travel with export and import. Search
//     is BM25 over a bleve index, plus, when an Embedder is configured, an
//     exact cosine scan over the items' vectors; the two rankings are
//     combined by reciprocal rank fusion. With no embedder, BM25 alone
//     answers. The index is a cache kept on disk in the image directory
//     (indexcache.go): opened as it is when it still reflects the image's
//     memory, rebuilt from the items when not.
//   - Weaviate: the items live in a Weaviate collection (one class), and a
//     search is Weaviate's hybrid (BM25 plus vector) query; vectors come
//     from the same Embedder (the class's vectorizer is "none").
//
// Both pass one conformance suite (suite_test.go). Package weaviatetest
// starts a real weaviate-server for the tests and benchmarks. Built with
// the phoenix_guest tag (the QEMU guest's phoenix), the package leaves the
// Weaviate backend and its client out: OpenWeaviate then fails with an
// error naming the backend and the build (weaviate_guest.go).
//
// It may import the standard library, bleve, the Weaviate Go client and
// package image (only for CheckMemoryID); it knows nothing of the VM, the
// LLM client or the agent that uses it (the agent supplies the Embedder).
package memory
