// Package enroll admits a device to the organisation's relay. IT makes a
// short-lived, single-use code for a user; the user's agent makes a P-256
// key that never leaves the PC (it lives in the OS keyring), sends a
// certificate request with the code, and gets a client certificate signed
// by the relay's device CA (package authority). Every later call to the
// relay is authenticated by that certificate (mTLS).
package enroll
