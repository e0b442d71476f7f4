//go:build !linux && !windows && !darwin

package trust

// Stores: this platform has no store this build knows.
func Stores(opts Options) ([]Store, error) { return nil, ErrNoStore }
