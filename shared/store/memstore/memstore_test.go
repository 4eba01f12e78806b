package memstore

import (
	"testing"

	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return New() })
}
