module github.com/phoenix-image/phoenix

go 1.26.8

require (
	github.com/jstemmer/go-junit-report/v2 v2.1.0
	github.com/yuin/gopher-lua v1.1.2
)

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/rogpeppe/go-internal v1.16.0 // indirect
)
