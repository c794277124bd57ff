// go-parse: what Go's parsers (the ones notation is built on) say about a certificate, a CRL or an OCSP response.
// The parity tests (integration/go-parse.test.ts) compare these verdicts with ours. Built with Debian's Go
// (GO111MODULE=off GOPATH=/usr/share/gocode, golang.org/x/crypto from golang-golang-x-crypto-dev).
//
//	go-parse cert FILE            x509.ParseCertificate
//	go-parse crl FILE             x509.ParseRevocationList
//	go-parse ocsp FILE CERT ISSUER ocsp.ParseResponseForCert
//	go-parse policy FILE          encoding/json Decoder.Decode into notation-go's trust policy document shape,
//	                              printed back as JSON ("ok {...}")
//	go-parse verify-tsa LEAF ROOTS [INTERMEDIATES]
//	                              x509.Verify of a TSA certificate (PEM files) for the timeStamping usage, now, as
//	                              tspclient-go verifies the signer of a timestamp token
//
// Prints "ok" or "error: MESSAGE" on stdout; exit 0 either way (2 for bad usage or unreadable files).
package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"

	"golang.org/x/crypto/ocsp"
)

func read(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	return b
}

func cert(path string) *x509.Certificate {
	c, err := x509.ParseCertificate(read(path))
	if err != nil {
		fmt.Fprintln(os.Stderr, path, err)
		os.Exit(2)
	}
	return c
}

// The shape notation-go's trustpolicy package decodes trustpolicy(.oci).json into (field names and JSON tags as
// there; notation-go reads the file with json.NewDecoder(f).Decode).
type signatureVerification struct {
	VerificationLevel string            `json:"level"`
	Override          map[string]string `json:"override,omitempty"`
	VerifyTimestamp   string            `json:"verifyTimestamp,omitempty"`
}

type trustPolicy struct {
	Name                  string                `json:"name"`
	RegistryScopes        []string              `json:"registryScopes"`
	SignatureVerification signatureVerification `json:"signatureVerification"`
	TrustStores           []string              `json:"trustStores,omitempty"`
	TrustedIdentities     []string              `json:"trustedIdentities,omitempty"`
}

type document struct {
	Version       string        `json:"version"`
	TrustPolicies []trustPolicy `json:"trustPolicies"`
}

func pemCerts(path string) []*x509.Certificate {
	var out []*x509.Certificate
	rest := read(path)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return out
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			fmt.Fprintln(os.Stderr, path, err)
			os.Exit(2)
		}
		out = append(out, c)
	}
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: go-parse cert|crl FILE | go-parse ocsp FILE CERT ISSUER")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "cert":
		_, err = x509.ParseCertificate(read(os.Args[2]))
	case "crl":
		_, err = x509.ParseRevocationList(read(os.Args[2]))
	case "verify-tsa":
		if len(os.Args) < 4 {
			os.Exit(2)
		}
		roots, inter := x509.NewCertPool(), x509.NewCertPool()
		for _, c := range pemCerts(os.Args[3]) {
			roots.AddCert(c)
		}
		if len(os.Args) > 4 {
			for _, c := range pemCerts(os.Args[4]) {
				inter.AddCert(c)
			}
		}
		_, err = pemCerts(os.Args[2])[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}})
	case "policy":
		f, ferr := os.Open(os.Args[2])
		if ferr != nil {
			os.Exit(2)
		}
		var doc document
		if err = json.NewDecoder(f).Decode(&doc); err == nil {
			out, _ := json.Marshal(doc)
			fmt.Println("ok", string(out))
			return
		}
	case "ocsp":
		if len(os.Args) != 5 {
			os.Exit(2)
		}
		_, err = ocsp.ParseResponseForCert(read(os.Args[2]), cert(os.Args[3]), cert(os.Args[4]))
	default:
		os.Exit(2)
	}
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println("ok")
}
