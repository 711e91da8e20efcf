package account

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// When the grid's images do not load (here: the storage answers the
// server but has none of the thumbnails the index lists), gallery.js says
// once, above the grid, that the storage may be out of the browser's
// reach, naming it.
func TestBrowser_GalleryPhotosNotLoading(t *testing.T) {
	m := newMinioGateEnv(t)
	d := m.connectDevice("", "phone")
	rows, _ := galleryRowsOver(d.account, 5, 5)
	for i := range rows {
		rows[i].SHA256 = fmt.Sprintf("%064x", i+1)
		rows = append(rows, StoredObject{AccountID: d.account, Key: thumbKey(d.account, rows[i].SHA256), Size: 10, ETag: "e",
			MTime: rows[i].MTime, Device: "phone"})
	}
	if err := m.gate.store.PutObjects(context.Background(), d.account, rows, nil); err != nil {
		t.Fatal(err)
	}
	ctx := m.signedInBrowser(d.account)
	do(t, ctx, chromedp.Navigate(m.api+"/photos"), chromedp.WaitVisible(chromedp.ID("grid")),
		chromedp.WaitVisible(chromedp.ID("photos-not-loading")))
	want := "Photos are not loading: the storage at http://" + m.s3.endpoint + " may not be reachable from this browser."
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("photos-not-loading")))
	if err != nil || got != want {
		t.Errorf("the notice: %q, %v; want %q", got, err, want)
	}
	time.Sleep(300 * time.Millisecond) // the last images fail too
	if n := evalInt(t, ctx, `document.querySelectorAll("p.error").length`); n != 1 {
		t.Errorf("%d error lines, want 1", n)
	}
}
