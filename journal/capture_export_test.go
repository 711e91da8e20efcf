package journal

// CaptureForTest returns the capture time, capture source and group the
// row of file id holds, as stored.
func (j *Journal) CaptureForTest(id int64) (capture, source, group string, err error) {
	err = j.db.QueryRow(`SELECT capture, capture_source, group_id FROM files WHERE id = ?`, id).Scan(&capture, &source, &group)
	return
}
