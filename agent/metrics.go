package agent

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudkeep/cloudkeep/uploader"
)

// metrics are the agent's Prometheus series. Counters are counted as work
// finishes; the rest is read from Status at each scrape.
type metrics struct {
	files    prometheus.Counter
	bytes    prometheus.Counter
	failed   prometheus.Counter
	retried  prometheus.Counter
	duration prometheus.Histogram
	outcomes *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry, a *Agent) *metrics {
	m := &metrics{
		files:   prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudkeep_uploaded_files_total", Help: "Files stored (uploaded or copied on the server)."}),
		bytes:   prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudkeep_uploaded_bytes_total", Help: "Bytes sent to the storage."}),
		failed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudkeep_upload_failures_total", Help: "Upload attempts that failed, and files that could not be read."}),
		retried: prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudkeep_requests_retried_total", Help: "Storage requests (parts, puts) tried again."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cloudkeep_upload_duration_seconds",
			Help: "Time to store one file.", Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 10)}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cloudkeep_upload_outcomes_total",
			Help: "Files handed to the uploader, by how it ended: uploaded, copied, already_stored, vanished, interrupted, signed_out, quota, failed."},
			[]string{"outcome"}),
	}
	for _, o := range outcomes {
		m.outcomes.WithLabelValues(o.label())
	}
	reg.MustRegister(m.files, m.bytes, m.failed, m.retried, m.duration, m.outcomes, statusCollector{a})
	return m
}

// observe counts one upload that ended as o. A nil *metrics counts
// nothing.
func (m *metrics) observe(o outcome, res uploader.Result) {
	if m == nil {
		return
	}
	m.outcomes.WithLabelValues(o.label()).Inc()
	switch o {
	case outStored:
		m.files.Inc()
		m.bytes.Add(float64(res.Sent))
		m.duration.Observe(res.Duration.Seconds())
	case outCopied:
		m.files.Inc()
		m.duration.Observe(res.Duration.Seconds())
	case outFailed:
		m.failed.Inc()
	}
}

// fail counts a file that could not be read. A nil *metrics counts nothing.
func (m *metrics) fail() {
	if m != nil {
		m.failed.Inc()
	}
}

// statusCollector turns a Status snapshot into gauges at each scrape.
type statusCollector struct{ a *Agent }

var (
	descQueueFiles = prometheus.NewDesc("cloudkeep_queue_files", "Files waiting to be uploaded.", nil, nil)
	descQueueBytes = prometheus.NewDesc("cloudkeep_queue_bytes", "Bytes waiting to be uploaded.", nil, nil)
	descOldest     = prometheus.NewDesc("cloudkeep_oldest_pending_seconds", "Age of the oldest waiting file.", nil, nil)
	descInFlight   = prometheus.NewDesc("cloudkeep_uploads_in_flight", "Uploads under way.", nil, nil)
	descWatches    = prometheus.NewDesc("cloudkeep_watches", "Folders watched, by root.", []string{"root"}, nil)
	descFallback   = prometheus.NewDesc("cloudkeep_watch_fallback", "1 when the watch limit was hit and the root is polled.", []string{"root"}, nil)
	descSignedIn   = prometheus.NewDesc("cloudkeep_signed_in", "1 unless the device is signed out.", nil, nil)
	descPaused     = prometheus.NewDesc("cloudkeep_paused", "1 while uploads are paused.", nil, nil)
	descLast       = prometheus.NewDesc("cloudkeep_last_upload_timestamp_seconds", "When the last file was stored.", nil, nil)
	descStorageUp  = prometheus.NewDesc("cloudkeep_storage_up", "1 while the storage answers, 0 from the first request that got no answer until the next that does.", nil, nil)
	descStorageOff = prometheus.NewDesc("cloudkeep_storage_unreachable_seconds", "How long the storage has not answered; 0 while it does.", nil, nil)
	descStateFull  = prometheus.NewDesc("cloudkeep_state_dir_full", "1 while the state directory's disk is full and uploads wait.", nil, nil)
)

func (statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueueFiles, descQueueBytes, descOldest, descInFlight, descWatches, descFallback, descSignedIn, descPaused, descLast, descStorageUp, descStorageOff, descStateFull} {
		ch <- d
	}
}

func (c statusCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.a.Status()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descQueueFiles, float64(s.Queue.Files))
	gauge(descQueueBytes, float64(s.Queue.Bytes))
	oldest := 0.0
	if !s.Queue.OldestPending.IsZero() {
		oldest = s.Now.Sub(s.Queue.OldestPending).Seconds()
	}
	gauge(descOldest, oldest)
	gauge(descInFlight, float64(len(s.Uploads)))
	for _, r := range s.Roots {
		gauge(descWatches, float64(r.Watches), r.Name)
		gauge(descFallback, b2f(r.Fallback), r.Name)
	}
	gauge(descSignedIn, b2f(s.State != StateSignedOut))
	gauge(descPaused, b2f(s.State == StatePaused))
	last := 0.0
	if !s.Totals.LastUpload.IsZero() {
		last = float64(s.Totals.LastUpload.UnixNano()) / 1e9
	}
	gauge(descLast, last)
	gauge(descStorageUp, b2f(s.Storage.Reachable))
	off := 0.0
	if !s.Storage.Reachable {
		off = s.Now.Sub(s.Storage.Since).Seconds()
	}
	gauge(descStorageOff, off)
	gauge(descStateFull, b2f(s.StateFull != ""))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
