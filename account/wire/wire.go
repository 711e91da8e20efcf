// Package wire holds what the account service and a device say to each
// other: API paths, request and response bodies, error codes. It imports
// nothing but the standard library, so the device side never links the
// server.
package wire

// Error is the JSON body of every API error, and the error of one op of a
// storage grant.
type Error struct {
	Code        string            `json:"error"`
	Message     string            `json:"message"`
	Description string            `json:"error_description,omitempty"` // RFC 6749 spelling, for OAuth clients
	Fields      map[string]string `json:"fields,omitempty"`
	TriesLeft   *int              `json:"tries_left,omitempty"`
	RetryAfter  int               `json:"retry_after,omitempty"` // seconds
	Interval    int               `json:"interval,omitempty"`    // slow_down: the new polling interval, seconds
	Used        int64             `json:"used,omitempty"`        // quota_exceeded: bytes stored
	Quota       int64             `json:"quota,omitempty"`       // quota_exceeded: bytes allowed
}

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return e.Code
}
