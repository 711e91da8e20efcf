package storage

import (
	"errors"
	"net/url"
)

// redactURL drops the query of the URL a failed request names in err: a
// presigned URL's query is its signature, a grant anyone reading the log
// could use until it expires. The error is otherwise unchanged (errors.Is
// still sees what it wraps).
func redactURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil {
		ue.URL = "(a presigned URL)"
		return err
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	u.User, u.Fragment = nil, ""
	ue.URL = u.String()
	return err
}
