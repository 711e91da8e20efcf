package uploader

// CRC32C returns the base64 CRC32C of b, as S3 spells it.
func CRC32C(b []byte) string { return digestOfBytes(b).crc32c }
