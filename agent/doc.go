// Package agent backs up media folders: Backup is one pass over every root
// (`cloudkeep backup`), Agent the long-running daemon that watches them
// (`cloudkeep run`).
//
// # Pipeline
//
// In the daemon a changed file travels through these components, each in
// its own file:
//
//	watcher → settler → scanner/journal.Track → queue → sender → uploader → journal
//
// The parts:
//
//   - watcher (watch.go) watches every folder under the roots with fsnotify
//     and sends each changed path to the settler as a change (a chmod of a
//     file too: made readable, it is tried again). When events are lost, or
//     a root cannot be watched, it asks rescanLoop for a rescan.
//   - settler (settle.go) holds a path back until it is complete: no event
//     for the Settle period and an unchanged stat; on Linux, sooner, once
//     it is quiet for a moment and a read lease shows that no writer holds
//     it open (lease_linux.go), unless the file changed again within Settle
//     of its last hand-over by the lease (a writer that closes and reopens
//     it to append): that file goes by the Settle period for a while. It
//     hands a complete file to Agent.settled and a vanished file or folder
//     to Agent.gone (both in reconcile.go). A file that could not be read
//     or journaled goes back to the settler on the failure schedule
//     (Agent.rereadLater, reread.go).
//   - scanner (scan.go) decides what to upload. scanner.consider filters a
//     file, sniffs that it is media (an empty file is not) and records it
//     with journal.Track;
//     scanner.scanRoot does the same for a whole root (the reconcile run at
//     start, every RescanInterval and on the watcher's request, see
//     Agent.rescanLoop in reconcile.go), comparing unchanged files with a
//     journal Snapshot read in path order alongside the walk, and tracking
//     new ones in batches (journal.TrackAll). Rescanned files changed within
//     Settle go back through the settler; the rest are queued as the walk
//     meets them.
//   - queue (queue.go) holds the jobs in two lanes, so photos are not stuck
//     behind a long video, never hands a file to two workers at once, and
//     stops handing out work while paused, signed out, over quota, while
//     the storage does not answer (storage.Health calls Agent.storageDown;
//     Agent.awaitStorage probes it and lets the queue go) or while the
//     state disk is full (statedisk.go: Agent.stateFull holds it,
//     Agent.awaitStateRoom probes for room and lets it go).
//   - Agent.work (worker.go), Files workers, takes jobs from the queue (none
//     once the agent is stopping), drops a job whose file another job
//     stored meanwhile (Agent.current), tells the uploader of the small files queued with each (Agent.prepare:
//     in account mode one grant call for a window of them) and hands each
//     to Agent.upload, which acts on the outcome: a failed file
//     is queued again after RetryBase, doubled with each failure in a row
//     in this run (queue.retryLater), a signed-out or quota refusal
//     holds the queue.
//   - sender (send.go) uploads one job through the uploader and records how
//     it ended in the journal (sender.send, sender.record).
//   - uploader (package uploader) sends the bytes, in parts for big files,
//     keeping the parts of an interrupted upload in the journal so that it
//     resumes.
//
// Backup (backup.go) uses the same scanner and sender without watcher,
// settler or queue: Files workers upload the files as the walk of the roots
// meets them (a progress bar's total grows as the walk finds them).
// At start, the daemon first aborts stale multipart uploads (abortStale)
// and queues what the journal says is unfinished (Agent.resumeUnfinished,
// worker.go), but for files still being written, which the first scan
// hands to the settler. The lifecycle — Run, Init, the sign-in and quota holds, Pause,
// Resume and Status — stays in agent.go.
//
// # File states
//
// Each file has a row in the journal whose journal.State moves so:
//
//	        MarkUploading            MarkDone
//	pending ─────────────▶ uploading ────────▶ done
//	                         │    ▲
//	              MarkFailed │    │ MarkUploading (a retry)
//	                         ▼    │
//	                         failed
//
//	any state ── MarkDeleted, MarkGone, MarkGoneUnder ──▶ deleted  (but freed)
//	any state ── Track: the file changed, or is back ──▶ pending
//	done ── MarkFreed (free-up) ──▶ freed ── Track: back unchanged ──▶ done
//
// Who moves each edge:
//
//   - (new) → pending: journal.Track, called by scanner.consider, inserts
//     the row. Track also moves a row of any state back to pending when the
//     file's identity (size, mtime, inode) changed, and a deleted row when
//     the file is there again.
//   - pending | failed → uploading: sender.send calls MarkUploading before
//     each attempt (it also counts the attempt).
//   - uploading → done: sender.record calls MarkDone when the uploader
//     stored, copied or found the object already there.
//   - uploading → failed: sender.record calls MarkFailed on any other error.
//     Agent.upload queues it again (queue.retryLater); Backup reports it and
//     exits 1.
//   - uploading → deleted: sender.record calls MarkDeleted when the file
//     vanished during the upload.
//   - any → deleted: scanner.scanRoot calls MarkGone for the files a scan no
//     longer finds; Agent.gone calls MarkGone or MarkGoneUnder for a file
//     or folder the settler found gone. Nothing remote is deleted. A freed
//     row stays freed: free-up moved its file to the trash.
//   - done → freed: `cloudkeep free-up` (package freeup) calls
//     journal.MarkFreed before it moves a proven file to the trash. Track
//     makes it done again when the same file is back (put back from the
//     trash), pending when another one is.
//   - (new) | any → done: `cloudkeep restore` calls journal.MarkRestored
//     for a file it writes where its key is the object it came from
//     (restore.Recorder), before the file takes its name: the agent finds
//     it unchanged. A file restored elsewhere gets a restored record
//     instead, and the uploader stores it by a server-side copy
//     (journal.FindContent, which also finds copies and renames by SHA-256).
//
// An upload that is interrupted (stop, sign-out, quota) leaves the row in
// uploading; rows in pending, uploading or failed are what
// journal.Unfinished returns, and what the next start resumes.
package agent
