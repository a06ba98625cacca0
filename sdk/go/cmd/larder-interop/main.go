// Command larder-interop is the Go side of the cross-language round trips
// (test/interop/matrix.test.ts): one cache operation through the Go SDK, so
// that what one SDK writes is proven readable by another through a real
// server.
//
//	larder-interop set-order    <url> <namespace> <key>
//	larder-interop expect-order <url> <namespace> <key>
//
// set-order writes the canonical Order; expect-order reads the key into an
// Order and exits 1 unless it equals the canonical one.
package main

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"time"

	larder "github.com/larder/larder/sdk/go"
)

// Customer, Item and Order are the typed object of the round trip; the
// other languages define the same shape.
type Customer struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Item is one line of an Order.
type Item struct {
	SKU   string  `json:"sku"`
	Qty   int     `json:"qty"`
	Price float64 `json:"price"`
}

// Order is the typed object of the round trip.
type Order struct {
	ID       string   `json:"id"`
	Customer Customer `json:"customer"`
	Items    []Item   `json:"items"`
	Total    float64  `json:"total"`
	Paid     bool     `json:"paid"`
	Tags     []string `json:"tags"`
}

var canonical = Order{
	ID:       "order-7",
	Customer: Customer{Name: "Ada Lovelace", Email: "ada@example.com"},
	Items:    []Item{{SKU: "A-1", Qty: 2, Price: 9.75}},
	Total:    19.5,
	Paid:     true,
	Tags:     []string{"vip", "ü😀"},
}

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: larder-interop set-order|expect-order <url> <namespace> <key>")
		os.Exit(2)
	}
	cmd, url, ns, key := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	c, err := larder.NewClient(url, larder.WithNamespace(ns))
	if err != nil {
		fail(err)
	}
	defer c.Close()
	ctx := context.Background()
	switch cmd {
	case "set-order":
		if _, err := c.Set(ctx, key, canonical, larder.WithTTL(time.Minute)); err != nil {
			fail(err)
		}
	case "expect-order":
		var got Order
		found, err := c.Get(ctx, key, &got)
		if err != nil {
			fail(err)
		}
		if !found || !reflect.DeepEqual(got, canonical) {
			fmt.Fprintf(os.Stderr, "found=%v\ngot  %+v\nwant %+v\n", found, got, canonical)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n", cmd)
		os.Exit(2)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
