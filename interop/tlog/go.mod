module akashi.example/interop/tlog

go 1.19

require golang.org/x/mod v0.7.0

// Debian's golang-golang-x-mod-dev, offline (GOPROXY=off, GOFLAGS=-mod=mod).
replace golang.org/x/mod => /usr/share/gocode/src/golang.org/x/mod
