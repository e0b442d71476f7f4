package relay

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"sendsikkert/internal/attachment/topdf"
	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/upload"
)

// The hosted add-in's uploads: Del sikkert sends a document in 4 MB slices
// (Office's getFileAsync), and a message names it by uploadId — the agent's
// local API, on the relay, for the upload's owner only. sendsikkert-relay
// serve keeps them in its SQL store (upload.OpenShared): on PostgreSQL
// every instance behind the load balancer sees every upload, so no
// affinity is needed.

func uploadView(i *upload.Info) map[string]any {
	return map[string]any{"id": i.ID, "size": i.Size, "received": i.Received(), "next": i.Next(), "complete": i.Complete()}
}

func noUploads(w http.ResponseWriter) {
	WriteError(w, http.StatusNotFound, &relayapi.Error{Code: "no_uploads", Message: "Relæet kan ikke modtage dokumenter i dele."})
}

// ownUpload returns the upload id names, if the request's owner owns it.
func (s *Server) ownUpload(r *http.Request, id string) (*upload.Info, bool) {
	info, err := s.Uploads.Get(id)
	if err != nil || info.Owner != Owner(r) {
		return nil, false
	}
	return info, true
}

func (s *Server) createUpload(w http.ResponseWriter, r *http.Request) {
	if s.Uploads == nil {
		noUploads(w)
		return
	}
	var req struct {
		Filename    string `json:"filename"`
		ContentType string `json:"contentType"`
		Size        int64  `json:"size"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil || req.Size < 0 {
		WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "bad_json", Message: "Forespørgslen kunne ikke læses."})
		return
	}
	info, err := s.Uploads.CreateFor(Owner(r), req.Filename, req.ContentType, req.Size)
	if errors.Is(err, upload.ErrTooLarge) {
		WriteError(w, http.StatusRequestEntityTooLarge, relayapi.TooLarge(false))
		return
	}
	if err != nil {
		s.fail(w, "upload create", err)
		return
	}
	writeJSON(w, http.StatusCreated, uploadView(info))
}

func (s *Server) putSlice(w http.ResponseWriter, r *http.Request) {
	if s.Uploads == nil {
		noUploads(w)
		return
	}
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil {
		WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "bad_slice", Message: "Ugyldigt delnummer."})
		return
	}
	if _, ok := s.ownUpload(r, r.PathValue("id")); !ok {
		WriteError(w, http.StatusNotFound, &relayapi.Error{Code: "upload_not_found", Message: "Overførslen findes ikke (den udløber efter et døgn). Del dokumentet igen."})
		return
	}
	info, err := s.Uploads.Put(r.PathValue("id"), index, http.MaxBytesReader(w, r.Body, upload.MaxSlice))
	switch {
	case errors.Is(err, upload.ErrNotFound):
		WriteError(w, http.StatusNotFound, &relayapi.Error{Code: "upload_not_found", Message: "Overførslen findes ikke (den udløber efter et døgn). Del dokumentet igen."})
	case errors.Is(err, upload.ErrTooLarge):
		WriteError(w, http.StatusRequestEntityTooLarge, relayapi.TooLarge(false))
	case errors.Is(err, upload.ErrBadSlice):
		WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "bad_slice", Message: "Delen er ugyldig eller for stor (højst 4 MB)."})
	case err != nil:
		s.log().Warn("slice not stored", "err", err)
		WriteError(w, http.StatusBadRequest, &relayapi.Error{Code: "slice_incomplete", Message: "Delen blev ikke modtaget helt. Send den igen."})
	default:
		writeJSON(w, http.StatusOK, uploadView(info))
	}
}

func (s *Server) getUpload(w http.ResponseWriter, r *http.Request) {
	if s.Uploads == nil {
		noUploads(w)
		return
	}
	info, ok := s.ownUpload(r, r.PathValue("id"))
	if !ok {
		WriteError(w, http.StatusNotFound, &relayapi.Error{Code: "upload_not_found", Message: "Overførslen findes ikke. Del dokumentet igen."})
		return
	}
	writeJSON(w, http.StatusOK, uploadView(info))
}

// takeUpload moves the request owner's complete upload id into the
// relay's blobs for a message.
func (s *Server) takeUpload(r *http.Request, id string, printable func(string, string) bool) (blobstore.File, *relayapi.Error, int) {
	if s.Uploads == nil {
		return blobstore.File{}, &relayapi.Error{Code: "no_uploads", Message: "Relæet kan ikke modtage dokumenter i dele."}, http.StatusBadRequest
	}
	info, ok := s.ownUpload(r, id)
	if !ok {
		return blobstore.File{}, &relayapi.Error{Code: "upload_not_found", Message: "Dokumentet blev ikke fundet. Del det igen."}, http.StatusBadRequest
	}
	if !info.Complete() {
		return blobstore.File{}, &relayapi.Error{Code: "upload_incomplete", Message: "Dokumentet er ikke modtaget helt endnu. Vent, til overførslen er færdig."}, http.StatusBadRequest
	}
	f, err := s.Uploads.Take(id, s.Store.Blobs(), topdf.Convert)
	var refused *upload.RefusedError
	if errors.As(err, &refused) {
		// Judged as an attachment is (attachment.Prepare).
		status := http.StatusUnsupportedMediaType
		if refused.Decision.Code == "attachment_empty" {
			status = http.StatusBadRequest
		}
		return blobstore.File{}, &relayapi.Error{Code: refused.Decision.Code, Message: refused.Decision.Message}, status
	}
	if err != nil {
		s.log().Error("upload take failed", "err", err)
		return blobstore.File{}, &relayapi.Error{Code: "upload", Message: "Dokumentet kunne ikke gemmes. Prøv igen."}, http.StatusInternalServerError
	}
	// Judged as it leaves: a converted document is a PDF and prints.
	if printable != nil && !printable(f.ContentType, f.Filename) {
		s.Store.Blobs().Remove(f.Blob)
		return blobstore.File{}, &relayapi.Error{Code: "not_printable", Message: "Dokumentet »" + f.Filename + "« kan ikke udskrives. Send det som PDF for at sende et brev via OneTooX."}, http.StatusBadRequest
	}
	return f, nil, 0
}
