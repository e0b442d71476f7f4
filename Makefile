# Convenience targets; the README's two commands are the source of truth.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build demo test bench windows clean
build:
	go build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...
demo:
	go run ./cmd/sendsikkert --headless --demo
test:
	bash scripts/test.sh
bench:
	bash bench/run.sh
windows:
	GOOS=windows GOARCH=amd64 go build -ldflags "$(LDFLAGS)" -o bin/windows/ ./cmd/...
clean:
	rm -rf bin test-output
