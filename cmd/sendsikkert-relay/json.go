package main

import (
	"encoding/json"
	"io"

	"sendsikkert/internal/audit"
	"sendsikkert/internal/recipient"
)

var zeroID recipient.ID

func writeJSONRows(w io.Writer, rows []audit.Entry) {
	if rows == nil {
		rows = []audit.Entry{}
	}
	json.NewEncoder(w).Encode(map[string]any{"entries": rows})
}
