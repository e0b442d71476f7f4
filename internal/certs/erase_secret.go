//go:build goexperiment.runtimesecret

package certs

import "runtime/secret"

// erased runs f, which handles the CA private key, so that the registers,
// stack and heap it used are wiped once unreachable.
func erased(f func()) { secret.Do(f) }
