package agent

// outcome is how one file handed to the sender ended. The sender decides
// it once; the agent's loop, the backup's tally, the status and the
// metrics all count by it.
type outcome int

const (
	outStored        outcome = iota // its bytes were sent
	outCopied                       // copied on the server from the key that holds it (a rename)
	outAlreadyStored                // the storage already held the same content under its key
	outVanished                     // deleted before its upload: dropped, not failed
	outInterrupted                  // cut short by a stop; it resumes later
	outSignedOut                    // refused: the device has no sign-in; it waits for a login
	outQuota                        // refused: the account's storage is full; it waits for space
	outFailed                       // failed; it is tried again later
	outUnreachable                  // the storage did not answer; it waits for the storage, not failed
	outStateFull                    // the state disk is full: nothing can be journaled; it waits for room, not failed
	outSkipped                      // left out on purpose (taken before media.since): not failed, not tried again
)

// stored reports whether the file is now in the storage.
func (o outcome) stored() bool {
	return o == outStored || o == outCopied || o == outAlreadyStored
}

// String is the outcome for people: the status's recent files, logs.
func (o outcome) String() string {
	switch o {
	case outStored:
		return "uploaded"
	case outCopied:
		return "copied"
	case outAlreadyStored:
		return "already stored"
	case outVanished:
		return "vanished"
	case outInterrupted:
		return "interrupted"
	case outSignedOut:
		return "signed out"
	case outQuota:
		return "quota reached"
	case outUnreachable:
		return "unreachable"
	case outStateFull:
		return "state dir full"
	case outSkipped:
		return "skipped"
	default:
		return "failed"
	}
}

// label is the outcome as a metric label value.
func (o outcome) label() string {
	switch o {
	case outAlreadyStored:
		return "already_stored"
	case outSignedOut:
		return "signed_out"
	case outQuota:
		return "quota"
	case outStateFull:
		return "state_full"
	default:
		return o.String()
	}
}

// outcomes lists every outcome, for metrics to start each series at 0.
var outcomes = []outcome{outStored, outCopied, outAlreadyStored, outVanished, outInterrupted, outSignedOut, outQuota, outFailed, outUnreachable, outStateFull, outSkipped}
