package memstore

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return New() })
}

func TestEventRetentionSetting(t *testing.T) {
	storetest.RunEventRetention(t, func(_ *testing.T, retention time.Duration) store.Store {
		return New(WithEventRetention(retention))
	})
}
