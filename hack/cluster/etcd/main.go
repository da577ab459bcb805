// Command etcd is the upstream etcd server (version pinned in go.mod), built
// for the local test cluster started by hack/local-cluster. It accepts the
// ordinary etcd flags, like the upstream binary (go.etcd.io/etcd/v3 main.go).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
