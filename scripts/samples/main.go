// Command samples writes sample photos and a video into a folder, for the
// demo and the benchmarks: samples DIR [PHOTOS] [VIDEO_MIB].
package main

import (
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: samples DIR [PHOTOS] [VIDEO_MIB]")
		os.Exit(2)
	}
	dir := os.Args[1]
	photos, videoMiB := 12, 40
	if len(os.Args) > 2 {
		photos, _ = strconv.Atoi(os.Args[2])
	}
	if len(os.Args) > 3 {
		videoMiB, _ = strconv.Atoi(os.Args[3])
	}
	if err := write(dir, photos, int64(videoMiB)<<20); err != nil {
		fmt.Fprintln(os.Stderr, "samples:", err)
		os.Exit(1)
	}
}

func write(dir string, photos int, videoSize int64) error {
	for i := range photos {
		path := filepath.Join(dir, "DCIM", "Camera", fmt.Sprintf("IMG_2026%04d.jpg", i+1))
		if err := writeJPEG(path, uint64(i)); err != nil {
			return err
		}
	}
	if videoSize > 0 {
		return writeVideo(filepath.Join(dir, "DCIM", "Camera", "VID_20260001.mp4"), videoSize)
	}
	return nil
}

// writeJPEG draws a noisy gradient, so the JPEG is photo-sized.
func writeJPEG(path string, seed uint64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, 1024, 768))
	base := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
	for y := range 768 {
		for x := range 1024 {
			n := uint8(r.IntN(48))
			img.Set(x, y, color.RGBA{base.R + uint8(x/8) + n, base.G + uint8(y/6) + n, base.B + n, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 85}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeVideo writes an MP4 file type box followed by noise: enough for a
// media sniffer, and as big as a real clip.
func writeVideo(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	header := "\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
	if _, err := io.WriteString(f, header); err != nil {
		f.Close()
		return err
	}
	if _, err := io.CopyN(f, rand.NewChaCha8([32]byte{1}), size-int64(len(header))); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
