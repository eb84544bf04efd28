// Package casestore names and renders what runs a City's cases in the
// cluster: its CloudNativePG database, its case registry (Deployment,
// Service, PodDisruptionBudget, NetworkPolicies) and the Secret of the key
// that seals personal data. It is pure: objects in, objects out, no
// client.
package casestore

import "fmt"

// Audience is the audience of the tokens desks and the operator present
// to a registry (a projected ServiceAccount token's audience, the
// registry's --token-audience): a token for the API server, or for
// anything else, is refused by the registry, and a registry token is
// refused by the API server.
const Audience = "petition-registry"

// RegistryPort is the port of the registry's Service and container.
const RegistryPort = 8080

// Labels of the registry's objects and pods.
const (
	// LabelName is the app name label of the registry's pods.
	LabelName = "app.kubernetes.io/name"
	// RegistryApp is LabelName's value on a registry's pods.
	RegistryApp = "petition-registry"
	// LabelCity names the City a registry, its database or a tenant
	// namespace belongs to.
	LabelCity = "petition.xinfang.io/city"
)

// RegistryName is the name of a City's registry Deployment, Service,
// PodDisruptionBudget and NetworkPolicy: cases-<city> (a City name has at
// most 56 characters, so it is a DNS label).
func RegistryName(city string) string { return "cases-" + city }

// DatabaseName is the name of a City's CloudNativePG Cluster: pg-<city>,
// short enough that CloudNativePG's Services (pg-<city>-rw) are DNS
// labels.
func DatabaseName(city string) string { return "pg-" + city }

// KeySecretName is the Secret of the keyring that seals a City's personal
// data: created once by the operator, never rotated or deleted by it.
func KeySecretName(city string) string { return "cases-" + city + "-key" }

// RegistryURL is the in-cluster URL of a City's registry in namespace.
func RegistryURL(city, namespace string) string {
	return fmt.Sprintf("http://%s.%s.svc:%d", RegistryName(city), namespace, RegistryPort)
}
