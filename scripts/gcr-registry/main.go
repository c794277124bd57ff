// The registry with the OCI 1.1 Referrers API used in tests: go-containerregistry pkg/registry from Debian.
// Built by scripts/services.sh with GO111MODULE=off GOPATH=/usr/share/gocode.
package main

import (
	"log"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := "127.0.0.1:5001"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	log.Fatal(http.ListenAndServe(addr, registry.New(registry.WithReferrersSupport(true))))
}
