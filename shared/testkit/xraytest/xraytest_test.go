package xraytest

import (
	"net"
	"testing"
)

// TestTakeAndParse: datagrams sent to the daemon's address come back from
// Take, once and in order; Parse decodes a framed document and refuses one
// without the header or with more than one document.
func TestTakeAndParse(t *testing.T) {
	d := Listen(t)
	conn, err := net.Dial("udp", d.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sent := []string{
		header + "\n" + `{"name":"DynamoDB","type":"subsegment","start_time":1.5,"end_time":2,"namespace":"aws","aws":{"operation":"GetItem"},"http":{"response":{"status":200}},"throttle":true}`,
		`{"name":"x"}`,
		header + "\n{} {}",
	}
	for _, s := range sent {
		if _, err := conn.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	got := d.Take(t)
	if len(got) != len(sent) {
		t.Fatalf("%d datagrams, want %d", len(got), len(sent))
	}
	doc, err := Parse(got[0])
	if err != nil || doc.Name != "DynamoDB" || doc.StartTime != 1.5 || doc.EndTime != 2 || doc.AWS["operation"] != "GetItem" ||
		doc.HTTP.Response.Status != 200 || !doc.Throttle || doc.Fault {
		t.Fatalf("%+v, %v", doc, err)
	}
	for _, g := range got[1:] {
		if _, err := Parse(g); err == nil {
			t.Errorf("%q parsed", g)
		}
	}
	if again := d.Take(t); len(again) != 0 {
		t.Fatalf("%d datagrams taken twice", len(again))
	}
}
