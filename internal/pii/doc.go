// Package pii protects the personal information of petitioners in the case
// registry (PIPL): names, phone numbers, identity numbers and the free-text
// description are sealed column by column with AES-256-GCM before they reach
// the database, under the City's current data key, whose id every ciphertext
// names so that keys rotate and older values still open. The associated data
// names the row and column ("case:<caseNo>:phone"): a value copied to another
// row or column no longer opens. Repeat petitions are found by an HMAC-SHA256
// of the normalised ID number or phone (PersonKey), never by the plain value.
// Plain values must never reach logs, events or metrics: this package's
// errors never quote them, nor any key material.
package pii
