package release

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// ArchiveFile is a file to put into an archive.
type ArchiveFile struct {
	// Name in the archive.
	Name string
	// Path on disk.
	Path string
	// Mode in the archive (0o755 for a program, 0o644 for a text).
	Mode int64
}

// WriteTarGz writes the files into a gzip-compressed tar at path, in the
// order given, each with modTime (the release's time, so that archives of
// one commit are the same byte for byte) and owned by 0:0.
func WriteTarGz(path string, files []ArchiveFile, modTime time.Time) error {
	return createFile(path, func(out io.Writer) error {
		gz := gzip.NewWriter(out)
		tw := tar.NewWriter(gz)
		for _, f := range files {
			if err := addFile(tw, f.Name, f.Path, f.Mode, modTime); err != nil {
				return err
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return gz.Close()
	})
}

// createFile creates the file at path, has write fill it, and closes it,
// returning the first error.
func createFile(path string, write func(io.Writer) error) (err error) {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	return write(out)
}

// WriteTarDir writes the tree under dir into an uncompressed tar at path,
// names relative to dir, in lexical order: an OCI image layout as an
// oci-archive (what `skopeo copy oci-archive:…` and `crane push` read).
func WriteTarDir(path, dir string, modTime time.Time) error {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		} else if !d.IsDir() {
			return fmt.Errorf("%s: not a regular file or a directory", p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	return createFile(path, func(out io.Writer) error {
		tw := tar.NewWriter(out)
		for _, p := range files {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			if err := addFile(tw, filepath.ToSlash(rel), p, 0o644, modTime); err != nil {
				return err
			}
		}
		return tw.Close()
	})
}

func addFile(tw *tar.Writer, name, path string, mode int64, modTime time.Time) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // read only
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: st.Size(), Mode: mode, ModTime: modTime.UTC(), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
