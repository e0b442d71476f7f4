// Package print hands printed letters to whoever posts them, for citizens
// exempt from Digital Post (the print fallback: OneTooX, fjernprint).
// The letter itself — the PDF with the address in the envelope window — is
// typeset by package letter; this package only transports it:
//
//   - Channel is the delivery channel: it builds a letter.Letter from a
//     delivery and gives it to a Printer.
//   - HotFolder writes the PDF and its metadata into a folder a print
//     agent watches (the demo "printer").
//   - IPP prints on a CUPS or Windows print queue (the OneTooX virtual
//     printer on the organisation's print server).
//   - fjernprint through Serviceplatformen is digitalpost.Fjernprint, a
//     Printer that lives beside the SF1601 client it uses.
//
// # The hot folder
//
// HotFolder.Print writes <Name>.pdf and then <Name>.json into a folder that
// a print agent watches, each through a temporary ".<name>.*.tmp" file that
// is synced and renamed, so the agent, triggered by the .json, always finds
// the complete PDF. A job's name is its identity: a retry writes the same
// two files again, and so never makes a second letter while the first is
// still waiting. Once the agent has taken the files away, only the caller
// (the outbox, with its idempotency key) can tell a retry from a new send.
package print
