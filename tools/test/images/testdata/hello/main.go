// Command hello is the program of the two-platform image test: a few lines,
// so that cross-compiling it costs next to nothing.
package main

import "fmt"

func main() { fmt.Println("hello") }
