// Command etcd is the upstream etcd server, built from the published
// go.etcd.io/etcd/server/v3 module for meshspec's end-to-end tests.
// It is the same main as etcd's server/main.go.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
