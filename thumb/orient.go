package thumb

import (
	"image"
	"image/draw"
)

// Orient returns img turned as the EXIF orientation o (1–8) says the photo
// is to be shown: 6 turns it a quarter clockwise, 8 a quarter
// anticlockwise, 3 half a turn, and 2, 4, 5, 7 mirror it. Other values
// leave it as it is. It works on the thumbnail, after scaling, where a
// copy costs little.
func Orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	src := toRGBA(img)
	w, h := src.Rect.Dx(), src.Rect.Dy()
	// at gives, for a pixel (x, y) of the result, the pixel of src it shows.
	var at func(x, y int) (int, int)
	dw, dh := w, h
	switch o {
	case 2: // mirrored left to right
		at = func(x, y int) (int, int) { return w - 1 - x, y }
	case 3: // upside down
		at = func(x, y int) (int, int) { return w - 1 - x, h - 1 - y }
	case 4: // mirrored top to bottom
		at = func(x, y int) (int, int) { return x, h - 1 - y }
	case 5: // mirrored along the top-left to bottom-right diagonal
		at = func(x, y int) (int, int) { return y, x }
	case 6: // a quarter turn clockwise
		at = func(x, y int) (int, int) { return y, h - 1 - x }
	case 7: // mirrored along the other diagonal
		at = func(x, y int) (int, int) { return w - 1 - y, h - 1 - x }
	case 8: // a quarter turn anticlockwise
		at = func(x, y int) (int, int) { return w - 1 - y, x }
	}
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range dh {
		for x := range dw {
			sx, sy := at(x, y)
			s := src.PixOffset(src.Rect.Min.X+sx, src.Rect.Min.Y+sy)
			copy(dst.Pix[dst.PixOffset(x, y):][:4], src.Pix[s:s+4])
		}
	}
	return dst
}

// toRGBA returns img as an *image.RGBA, converting it when it is another
// kind (a small image that needed no scaling).
func toRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok {
		return r
	}
	b := img.Bounds()
	r := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(r, r.Rect, img, b.Min, draw.Src)
	return r
}
