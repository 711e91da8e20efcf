// Empty: lets render.go declare renderTemplate without a body (go:linkname).
