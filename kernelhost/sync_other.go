//go:build !unix

package kernelhost

func syncFS() {}
