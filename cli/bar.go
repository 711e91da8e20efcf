package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// barProgress draws files and bytes, rate and ETA on a terminal. Its total
// grows while the walk finds files, which are sent meanwhile: it reads
// "12/345+ files" until the walk is done (Walked), then "12/400 files".
// The bar counts the bytes to send: those the storage already holds (a
// resumed upload's parts, files already stored) are taken out of its
// total, so they move it on without counting in the rate or the ETA.
type barProgress struct {
	w io.Writer

	mu      sync.Mutex
	bar     *progressbar.ProgressBar // drawn once a file is planned
	files   int                      // planned
	done    int
	whole   bool  // no more files will be planned (from the start for a restore)
	planned int64 // bytes of the planned files
	found   int64 // of those, bytes the storage already holds
}

// Planned adds files of bytes to the total; the first call draws the bar.
func (p *barProgress) Planned(files int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files += files
	p.planned += bytes
	if p.bar == nil {
		p.bar = progressbar.NewOptions64(p.toSend(),
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetDescription(p.description()),
		)
		// Drawn now, the bar's clock starts now: left to its first Add, it
		// would divide that first part by a microsecond (a rate in TB/s).
		p.bar.RenderBlank()
		return
	}
	p.bar.ChangeMax64(p.toSend())
	p.bar.Describe(p.description())
}

// Walked says that the total is whole.
func (p *barProgress) Walked() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.whole = true
	if p.bar != nil {
		p.bar.Describe(p.description())
	}
}

// Add counts n bytes sent, or takes them back when n is negative (a request
// that failed).
func (p *barProgress) Add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bar.Add64(n)
}

// Found takes n bytes the storage already holds out of the total, or puts
// them back when n is negative (a part that differs, to be sent after all).
func (p *barProgress) Found(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.found += n
	p.bar.ChangeMax64(p.toSend())
}

func (p *barProgress) FileDone() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.bar.Describe(p.description())
}

// toSend is the bar's total: the bytes planned less those found stored,
// above zero (the library draws nothing of a zero); p.mu is held.
func (p *barProgress) toSend() int64 { return max(p.planned-p.found, 1) }

// description is the files done and planned; p.mu is held.
func (p *barProgress) description() string {
	more := "+"
	if p.whole {
		more = ""
	}
	return fmt.Sprintf("%d/%d%s files", p.done, p.files, more)
}

// finish ends the bar: full when every byte was counted, left where it
// stopped otherwise (failed files, an interrupted pass), not filled up.
func (p *barProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil {
		return
	}
	switch st := p.bar.State(); {
	case p.found >= p.planned: // nothing was sent: the summary says what was found
		p.bar.Clear()
		return
	case st.CurrentNum+p.found >= p.planned:
		p.bar.Finish()
	default:
		p.bar.Exit()
	}
	fmt.Fprintln(p.w)
}
