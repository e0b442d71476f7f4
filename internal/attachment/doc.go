// Package attachment decides what becomes of a file a clerk attaches: its
// name (CleanName, Names), what it is (Sniff, by content first), whether
// Digital Post takes it, is given a PDF instead, or refuses it (Formats,
// Decide, Prepare), and whether it can follow a printed letter
// (Printable). The agent's local API and the relay call it at submit, so a
// file Digital Post would refuse is refused while the clerk is still there,
// with nothing queued; the MeMo writer calls CleanName again, so a message
// queued before an update leaves with a clean name too. The conversion to
// PDF itself is in topdf, which only the relay links: the agent stores a
// file to convert as it is (Decision.Source) and the relay converts it.
package attachment
