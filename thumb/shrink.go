package thumb

import (
	"image"
	"image/color"
)

// shrinkBox returns img made k times smaller on each side by averaging
// each k×k block (the last row and column of blocks may be smaller): an
// area average, so no detail aliases, in one pass over the pixels. Scale
// runs it first on a big decoded JPEG, which leaves the exact resampling
// a small image to work on (bench: BenchmarkScale).
func shrinkBox(img *image.YCbCr, k int) *image.RGBA {
	b := img.Bounds()
	ow, oh := (b.Dx()+k-1)/k, (b.Dy()+k-1)/k
	sx, sy := chromaSteps(img.SubsampleRatio)
	dst := image.NewRGBA(image.Rect(0, 0, ow, oh))
	ys, ny := make([]uint32, ow), make([]uint32, ow)
	cbs, crs, nc := make([]uint32, ow), make([]uint32, ow), make([]uint32, ow)
	for oy := range oh {
		for _, s := range [][]uint32{ys, ny, cbs, crs, nc} {
			clear(s)
		}
		for y := b.Min.Y + oy*k; y < min(b.Min.Y+(oy+1)*k, b.Max.Y); y++ {
			row := img.Y[img.YOffset(b.Min.X, y):][:b.Dx()]
			for ox := range ow {
				var sum uint32
				seg := row[ox*k : min((ox+1)*k, len(row))]
				for _, v := range seg {
					sum += uint32(v)
				}
				ys[ox] += sum
				ny[ox] += uint32(len(seg))
			}
			if y%sy != 0 {
				continue // this row's chroma was counted with the row above
			}
			base := (y/sy-img.Rect.Min.Y/sy)*img.CStride - img.Rect.Min.X/sx
			for x := b.Min.X + (sx-b.Min.X%sx)%sx; x < b.Max.X; x += sx {
				ox, c := (x-b.Min.X)/k, base+x/sx
				cbs[ox] += uint32(img.Cb[c])
				crs[ox] += uint32(img.Cr[c])
				nc[ox]++
			}
		}
		for ox := range ow {
			cb, cr := uint8(128), uint8(128)
			if n := nc[ox]; n > 0 {
				cb, cr = uint8((cbs[ox]+n/2)/n), uint8((crs[ox]+n/2)/n)
			}
			r, g, bl := color.YCbCrToRGB(uint8((ys[ox]+ny[ox]/2)/ny[ox]), cb, cr)
			i := dst.PixOffset(ox, oy)
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = r, g, bl, 0xff
		}
	}
	return dst
}

// chromaSteps is how many pixels, across and down, share one chroma
// sample.
func chromaSteps(r image.YCbCrSubsampleRatio) (int, int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 1, 1
}

// shrinkBox4 is shrinkBox for images of 4 bytes per pixel (RGBA, NRGBA:
// what PNGs decode to), averaged channel by channel into the same kind.
func shrinkBox4(pix []uint8, stride int, r image.Rectangle, k int) []uint8 {
	ow, oh := (r.Dx()+k-1)/k, (r.Dy()+k-1)/k
	out := make([]uint8, ow*oh*4)
	sums := make([]uint32, ow*4)
	ns := make([]uint32, ow)
	for oy := range oh {
		clear(sums)
		clear(ns)
		for y := oy * k; y < min((oy+1)*k, r.Dy()); y++ {
			row := pix[y*stride:][:r.Dx()*4]
			for x := range r.Dx() {
				ox := x / k
				p := row[x*4 : x*4+4]
				s := sums[ox*4 : ox*4+4]
				s[0] += uint32(p[0])
				s[1] += uint32(p[1])
				s[2] += uint32(p[2])
				s[3] += uint32(p[3])
				ns[ox]++
			}
		}
		for ox := range ow {
			n := ns[ox]
			for c := range 4 {
				out[(oy*ow+ox)*4+c] = uint8((sums[ox*4+c] + n/2) / n)
			}
		}
	}
	return out
}

// shrink returns img made about k times smaller by shrinkBox or
// shrinkBox4, or img itself when it is of another kind.
func shrink(img image.Image, k int) image.Image {
	switch m := img.(type) {
	case *image.YCbCr:
		return shrinkBox(m, k)
	case *image.RGBA:
		pix := shrinkBox4(m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Stride, m.Rect, k)
		return &image.RGBA{Pix: pix, Stride: (m.Rect.Dx() + k - 1) / k * 4, Rect: image.Rect(0, 0, (m.Rect.Dx()+k-1)/k, (m.Rect.Dy()+k-1)/k)}
	case *image.NRGBA:
		pix := shrinkBox4(m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Stride, m.Rect, k)
		return &image.NRGBA{Pix: pix, Stride: (m.Rect.Dx() + k - 1) / k * 4, Rect: image.Rect(0, 0, (m.Rect.Dx()+k-1)/k, (m.Rect.Dy()+k-1)/k)}
	}
	return img
}
