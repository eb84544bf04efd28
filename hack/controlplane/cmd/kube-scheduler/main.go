// Command kube-scheduler is the upstream Kubernetes scheduler, built from Go
// modules: it binds the pods of the local control plane to its simulated
// nodes.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	os.Exit(cli.Run(app.NewSchedulerCommand()))
}
