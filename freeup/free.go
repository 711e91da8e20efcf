package freeup

import (
	"context"
	"fmt"
	"os"

	"github.com/cloudkeep/cloudkeep/journal"
)

// Mover takes a proven file off the disk: Trash.Move, or Delete.
type Mover func(path string) (string, error)

// Delete deletes the file at path for good.
func Delete(path string) (string, error) {
	if err := os.Remove(path); err != nil {
		return "", err
	}
	return "", nil
}

// Freed is a file free-up took off the disk, and where it went ("" when
// deleted).
type Freed struct {
	Item
	To string
}

// Failure is a file free-up could not take off the disk.
type Failure struct {
	Item
	Err error
}

// Result is what Free did.
type Result struct {
	Freed  []Freed
	Failed []Failure
}

// Free takes the files of plan off the disk with move. Each file is
// looked at again first: one that changed since the proof stays. Its row
// is marked freed before the move, so that an agent that sees the file
// leave does not take it for a deletion, and done again when the move
// fails; once moved, it is marked freed again, should a scan have met the
// file between the mark and the move.
func Free(ctx context.Context, j *journal.Journal, plan Plan, move Mover) (Result, error) {
	var res Result
	changed := map[string]bool{} // groups with a file changed since the proof: all kept
	for _, it := range plan.Free {
		if !unchanged(it) {
			changed[it.Group] = true
		}
	}
	for _, it := range plan.Free {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		var to string
		var err error = errChanged
		if !changed[it.Group] {
			to, err = freeOne(ctx, j, it, move)
		}
		switch {
		case err == errChanged:
			it.Reason = Changed
			res.Failed = append(res.Failed, Failure{Item: it, Err: fmt.Errorf("%s changed since it was checked; kept", it.Abs)})
		case err != nil:
			res.Failed = append(res.Failed, Failure{Item: it, Err: err})
		default:
			res.Freed = append(res.Freed, Freed{Item: it, To: to})
		}
	}
	return res, nil
}

type sentinel string

func (s sentinel) Error() string { return string(s) }

const errChanged = sentinel("changed")

// unchanged reports whether the file of it is at its path as the proof
// read it: its size, mtime, inode and status change time (any write or
// touch moves it, one that keeps the other three too).
func unchanged(it Item) bool {
	fi, err := os.Lstat(it.Abs)
	return err == nil && journal.IdentityOf(fi).Equal(it.Seen) && ctimeOf(fi) == it.Ctime
}

func freeOne(ctx context.Context, j *journal.Journal, it Item, move Mover) (string, error) {
	if !unchanged(it) {
		return "", errChanged
	}
	ok, err := j.MarkFreed(ctx, it.ID, it.Seen, it.SHA256)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", errChanged // the journal's row moved on: an upload of a new version
	}
	to, err := move(it.Abs)
	if err != nil {
		// Done again only when the file is still there as it was: one
		// that left anyway (another free-up took it) stays freed, or a
		// running agent would take it for deleted and its backup for one
		// that may go.
		if !unchanged(it) {
			return "", fmt.Errorf("%w; %s is no longer there as it was: left marked freed, its backup kept", err, it.Abs)
		}
		if uerr := j.Unfree(context.WithoutCancel(ctx), it.ID); uerr != nil {
			return "", fmt.Errorf("%w; and %w", err, uerr)
		}
		return "", err
	}
	if _, err := j.MarkFreed(context.WithoutCancel(ctx), it.ID, it.Seen, it.SHA256); err != nil {
		return to, err
	}
	return to, nil
}
