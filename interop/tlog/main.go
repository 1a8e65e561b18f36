// Command tlog-check is an independent check of an Akashi issuer's transparency log with
// Go's reference implementation (golang.org/x/mod/sumdb/note and .../tlog, from Debian's
// golang-golang-x-mod-dev): it fetches the signed checkpoint and the tiles over HTTP,
// verifies the note with the issuer's log key, rebuilds the tree hash from the tiles
// (tlog.TileHashReader checks every tile it reads against the checkpoint), and proves the
// inclusion of every record (or of -record N, or of the issued credential with -digest D)
// with tlog.ProveRecord / tlog.CheckRecord over the entries' own record hashes.
//
//	tlog-check -log http://127.0.0.1:8080/log -vkey 'origin+1234abcd+AQ…' [-record N] [-digest D]
//
// It prints one line of results and exits 0, or prints what failed and exits 1.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

var client = &http.Client{Timeout: 30 * time.Second}

func fetch(url string) ([]byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<24))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// tileReader fetches tiles at their Go paths (tile/8/<L>/<N>[.p/<W>]) under the log URL.
type tileReader struct{ base string }

func (r tileReader) Height() int { return height }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := fetch(r.base + "/" + t.Path())
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (r tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// checkpoint parses the C2SP checkpoint text: origin, size, base64 root hash.
func checkpoint(text, origin string) (tlog.Tree, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return tlog.Tree{}, errors.New("checkpoint: fewer than three lines")
	}
	if lines[0] != origin {
		return tlog.Tree{}, fmt.Errorf("checkpoint: origin %q, expected %q", lines[0], origin)
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || lines[1] != strconv.FormatInt(n, 10) {
		return tlog.Tree{}, fmt.Errorf("checkpoint: bad tree size %q", lines[1])
	}
	h, err := tlog.ParseHash(lines[2])
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("checkpoint: bad root hash %q", lines[2])
	}
	return tlog.Tree{N: n, Hash: h}, nil
}

// entries reads the C2SP entry bundles of records [0, n): big-endian uint16 lengths.
func entries(base string, n int64) ([][]byte, error) {
	var out [][]byte
	for start := int64(0); start < n; start += 1 << height {
		t := tlog.Tile{H: height, L: 0, N: start >> height, W: 1 << height}
		if n-start < 1<<height {
			t.W = int(n - start)
		}
		// The C2SP entries path beside the level-0 tile.
		path := "tile/entries/" + strings.TrimPrefix(t.Path(), "tile/8/0/")
		data, err := fetch(base + "/" + path)
		if err != nil {
			return nil, err
		}
		for i := 0; i < t.W; i++ {
			if len(data) < 2 {
				return nil, fmt.Errorf("entry bundle %s ends inside entry %d", path, i)
			}
			l := int(binary.BigEndian.Uint16(data))
			if len(data) < 2+l {
				return nil, fmt.Errorf("entry bundle %s ends inside entry %d", path, i)
			}
			out = append(out, data[2:2+l])
			data = data[2+l:]
		}
		if len(data) != 0 {
			return nil, fmt.Errorf("entry bundle %s has %d bytes after its %d entries", path, len(data), t.W)
		}
	}
	return out, nil
}

func run() (string, error) {
	logURL := flag.String("log", "", "the log's URL prefix, e.g. http://127.0.0.1:8080/log")
	vkey := flag.String("vkey", "", "the log's verifier key (name+keyid+base64 key)")
	record := flag.Int64("record", -1, "check only this record's inclusion")
	digest := flag.String("digest", "", "check the inclusion of the issued credential with this digest")
	flag.Parse()
	if *logURL == "" || *vkey == "" {
		return "", errors.New("-log and -vkey are required")
	}
	base := strings.TrimRight(*logURL, "/")

	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		return "", fmt.Errorf("verifier key: %v", err)
	}
	raw, err := fetch(base + "/checkpoint")
	if err != nil {
		return "", err
	}
	msg, err := note.Open(raw, note.VerifierList(verifier))
	if err != nil {
		return "", fmt.Errorf("checkpoint note: %v", err)
	}
	tree, err := checkpoint(msg.Text, verifier.Name())
	if err != nil {
		return "", err
	}
	hr := tlog.TileHashReader(tree, tileReader{base})
	th, err := tlog.TreeHash(tree.N, hr)
	if err != nil {
		return "", fmt.Errorf("tree hash from tiles: %v", err)
	}
	if th != tree.Hash {
		return "", fmt.Errorf("tree hash from tiles %v differs from the checkpoint's %v", th, tree.Hash)
	}

	all, err := entries(base, tree.N)
	if err != nil {
		return "", err
	}
	var check []int64
	switch {
	case *record >= 0:
		check = []int64{*record}
	case *digest != "":
		for i, e := range all {
			var v struct {
				Type   string `json:"type"`
				Digest string `json:"digest"`
			}
			if json.Unmarshal(e, &v) == nil && v.Type == "issued" && v.Digest == *digest {
				check = append(check, int64(i))
			}
		}
		if len(check) == 0 {
			return "", fmt.Errorf("no issued entry has digest %s", *digest)
		}
	default:
		for i := range all {
			check = append(check, int64(i))
		}
	}
	kinds := map[string]int{}
	for _, n := range check {
		if n >= tree.N {
			return "", fmt.Errorf("record %d is not in a tree of size %d", n, tree.N)
		}
		p, err := tlog.ProveRecord(tree.N, n, hr)
		if err != nil {
			return "", fmt.Errorf("record %d: proof: %v", n, err)
		}
		if err := tlog.CheckRecord(p, tree.N, tree.Hash, n, tlog.RecordHash(all[n])); err != nil {
			return "", fmt.Errorf("record %d: %v", n, err)
		}
		var v struct{ Type string `json:"type"` }
		if err := json.Unmarshal(all[n], &v); err != nil {
			return "", fmt.Errorf("record %d is not an Akashi entry: %v", n, err)
		}
		kinds[v.Type]++
	}
	return fmt.Sprintf("ok origin=%s size=%d root=%s checked=%d issued=%d status=%d",
		verifier.Name(), tree.N, base64.StdEncoding.EncodeToString(tree.Hash[:]),
		len(check), kinds["issued"], kinds["status"]), nil
}

func main() {
	out, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlog-check:", err)
		os.Exit(1)
	}
	fmt.Println(out)
}
