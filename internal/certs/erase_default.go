//go:build !goexperiment.runtimesecret

package certs

// erased runs f, which handles the CA private key. Without the
// runtimesecret experiment the key's memory is only released to the
// garbage collector, not wiped.
func erased(f func()) { f() }
